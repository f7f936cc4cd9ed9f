// Package smtptest runs a real SMTP server on loopback for tests across the
// project. It is built on github.com/emersion/go-smtp and speaks the protocol
// the way production servers do: STARTTLS offered or required, implicit TLS,
// AUTH with PLAIN, LOGIN, CRAM-MD5 and XOAUTH2, and optional rules that AUTH or
// STARTTLS must come before MAIL.
//
// A test starts a server with [Start], points the code under test at
// [Server.Host] and [Server.Port], and then reads what arrived with
// [Server.Messages] or blocks for it with [Server.Wait]. Certificates come
// from an in-memory [CA], so TLS is verified for real; [SelfSigned] gives a
// certificate no pool trusts.
//
// Like mailpit's chaos switch, [Server.SetFault] makes one stage of the
// conversation (the greeting, EHLO, AUTH, MAIL, RCPT or DATA) answer a chosen
// reply, drop the connection or hang, for every command or only the next few,
// and for RCPT optionally only for some recipients. Faults can be changed
// while clients are connected. [Server.Count] tells how many connections and
// commands the server has seen, which is how tests prove connection reuse.
//
// The package is not a _test package so that every package's tests can use
// it; nothing outside tests should import it.
package smtptest
