// Package bounce is what comes back after a message was SENT through the
// platform relay: delivery status notifications (RFC 3464) and complaint
// reports (ARF, RFC 5965) mailed to the bounce domain.
//
// Platform-relayed mail goes out with a VERP envelope sender,
// b-<token>@<bounce domain>, where the token is the message id and an HMAC
// of it (token.go): a report names its message by the address it was
// mailed to, and a forged report cannot name someone else's message. The
// parser (report.go) reads the report with enmime; the service
// (service.go) applies it in one transaction: a hard bounce suppresses the
// address (BOUNCE) and turns a SENT message BOUNCED; a complaint
// suppresses it for all mail (COMPLAINT) and turns a SENT message
// COMPLAINED; a soft bounce or a delay is an event of the message only.
// Both status changes happen only from SENT: a report of a message in any
// other status (already BOUNCED, or RETRYING because a later attempt is
// under way) still suppresses the address but is an event only. What
// cannot be applied — not a report, no or a forged token, a recipient the
// message did not go to — is kept for an operator (inbound_reports, the
// newest keepReports only).
package bounce
