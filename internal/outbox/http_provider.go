package outbox

// HTTPProvider is the mail API an HTTP sender speaks: Outbox's own JSON
// (GENERIC) or a provider's published send API. The values are the GraphQL
// enum HttpProvider.
type HTTPProvider string

// The HTTP mail APIs.
const (
	HTTPGeneric  HTTPProvider = "GENERIC"
	HTTPSendGrid HTTPProvider = "SENDGRID"
	HTTPPostmark HTTPProvider = "POSTMARK"
	HTTPMailgun  HTTPProvider = "MAILGUN"
	HTTPSES      HTTPProvider = "SES"
	HTTPResend   HTTPProvider = "RESEND"
)

// HTTPProviders lists every HTTP mail API, GENERIC first.
func HTTPProviders() []HTTPProvider {
	return []HTTPProvider{HTTPGeneric, HTTPSendGrid, HTTPPostmark, HTTPMailgun, HTTPSES, HTTPResend}
}
