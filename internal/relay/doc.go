// Package relay is the platform's own way out for mail: verification mails
// and the notifications of tenants in PLATFORM and BRANDED mode
// go through the one [Sender] that [New] returns.
//
// With OUTBOX_PLATFORM_SMTP_URL set, the Sender is an SMTP relay: messages go
// through a transport.Pool under the sending account [AccountKey], so that
// connections are reused and rate limits have one key for the platform.
// Without it, the Sender is the development mailbox: every message is
// rendered exactly as SMTP would carry it (transport.Build) and stored in
// Postgres, where [Mailbox] lists it for the /dev/mailbox page. A new user can
// thus run `outbox serve` with no configuration and still click the link of a
// verification mail.
package relay
