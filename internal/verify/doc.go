// Package verify is the domain of branded sender addresses:
// a tenant asks to send from its own address, Outbox mails a link to that
// address, and pressing "Verify" on the link's page proves the address is
// the tenant's. Once verified, the address becomes the From of the tenant's
// mail (mode BRANDED), unless the tenant sends through its own SMTP server
// or HTTP API.
//
// The story, in files:
//
//   - service.go: the Service, its settings and the Verification it returns.
//   - token.go: link tokens — 256 random bits, URL-safe; only their SHA-256
//     is kept, plus a sealed copy that lives until the mail is sent.
//   - request.go: Request and Resend write the verification, the token, the
//     VERIFICATION message and its River job in one transaction, under the
//     resend limits (cooldown and daily cap).
//   - confirm.go: Inspect (for the link page, changes nothing) and Verify
//     (single use, expiring, bound to its tenant and address).
//   - send.go and mail.go: the worker side, which mails the link through
//     the platform relay and records the outcome on the message.
package verify
