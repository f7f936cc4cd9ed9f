// Package transport carries mail out of Outbox: over SMTP to a tenant's own
// server or the platform relay, or as JSON to a tenant's HTTP mail API. It is
// the only package that imports go-mail (docs/architecture.md).
//
// The story, in files:
//
//   - message.go turns a [Message] into MIME with go-mail. Display names keep
//     any Unicode and punctuation (RFC 5322 quoting, RFC 2047 for non-ASCII);
//     control characters in any header value are refused with an
//     outbox.Invalid error, whatever the domain already checked (the wire
//     rules of internal/mailaddr: Parse, CheckHeaderText).
//   - smtp.go speaks SMTP through go-mail's smtp package, one step at a time
//     (RESOLVE, CONNECT, TLS, EHLO, AUTH, MAIL, RCPT, DATA), so that every step
//     can be timed, reported and classified. [Send] delivers one message.
//   - testsend.go is [TestSend]: a throwaway connection with short timeouts
//     whose [Report] lists each step, for "test before save".
//   - pool.go is [Pool]: connections kept per sending account and reused.
//   - http.go posts an [HTTPPayload] to a tenant's API: [SendHTTP], [TestHTTP].
//   - providers.go speaks a provider's own send API instead when
//     HTTPConfig.Provider says so: sendgrid.go, postmark.go, mailgun.go,
//     resend.go, and ses.go (SESv2 SendEmail with the raw MIME of
//     message.go, signed by the AWS SDK, whose HTTP client is ours so the
//     address policy holds). Their answers are classified in
//     classify_http.go, the provider's message id kept on the Attempt.
//   - classify.go is [Classify], the one place where SMTP replies and network,
//     TLS, auth and HTTP errors become a [Failure] (failure.go): a category,
//     whether to retry, pause or suppress, and a hint a shop owner can act on
//     (hints.go). SMTP replies are read in classify_smtp.go, HTTP statuses in
//     classify_http.go.
//
// Security is never downgraded: STARTTLS that the server does not offer fails
// the TLS step, implicit TLS starts with the first byte, and a password is
// never sent unencrypted except to loopback. Secrets never appear in errors,
// step details or replies.
package transport
