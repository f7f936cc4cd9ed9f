// Package inbound is the SMTP listener of the bounce domain: it takes the
// delivery status notifications and complaint reports mailed to the
// platform relay's VERP addresses and hands each to internal/bounce.
//
// It is no open relay and no mailbox: a recipient outside the bounce
// domain is refused at RCPT, and it takes only as much as a report needs
// — a size limit, a limit of messages per client address and minute, a
// bound on connections, and timeouts on every command. A report that
// cannot be applied is still accepted (and kept for an operator, see
// internal/bounce); only a database failure answers 451, so that the
// sending server tries again. A panic while handling one report answers
// 451 as well and leaves the listener running.
package inbound
