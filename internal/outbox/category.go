package outbox

// ErrorCategory says why a delivery or a test send failed, in terms a shop
// owner can act on. The values are the GraphQL enum ErrorCategory.
type ErrorCategory string

// The categories, as the GraphQL enum ErrorCategory names them.
const (
	CategoryAuthFailed        ErrorCategory = "AUTH_FAILED"
	CategoryTLS               ErrorCategory = "TLS"
	CategoryConnection        ErrorCategory = "CONNECTION"
	CategoryTimeout           ErrorCategory = "TIMEOUT"
	CategoryThrottled         ErrorCategory = "THROTTLED"
	CategoryRecipientRejected ErrorCategory = "RECIPIENT_REJECTED"
	CategoryMessageRejected   ErrorCategory = "MESSAGE_REJECTED"
	CategoryConfig            ErrorCategory = "CONFIG"
	CategoryInternal          ErrorCategory = "INTERNAL"
)

// SenderMode is how a tenant's mail is sent.
type SenderMode string

// The sender modes.
const (
	ModePlatform SenderMode = "PLATFORM"
	ModeBranded  SenderMode = "BRANDED"
	ModeSMTP     SenderMode = "SMTP"
	ModeHTTP     SenderMode = "HTTP"
)

// SMTPSecurity is how the connection to an SMTP server is protected.
type SMTPSecurity string

// The SMTP security options.
const (
	SecurityImplicitTLS SMTPSecurity = "IMPLICIT_TLS"
	SecurityStartTLS    SMTPSecurity = "STARTTLS"
	SecurityNone        SMTPSecurity = "NONE"
)

// SMTPAuth is the SASL mechanism used to log in to an SMTP server.
type SMTPAuth string

// The SMTP auth mechanisms.
const (
	AuthPlain   SMTPAuth = "PLAIN"
	AuthLogin   SMTPAuth = "LOGIN"
	AuthCRAMMD5 SMTPAuth = "CRAM_MD5"
	AuthXOAuth2 SMTPAuth = "XOAUTH2"
	AuthNone    SMTPAuth = "NONE"
)
