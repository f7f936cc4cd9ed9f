package sender

import (
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/transport"
)

// HTTPPreset describes a mail provider's own send API for the HTTP form:
// what to enter, the provider's sending limits, and a note on the
// credential to create. HTTPPresets are the source of the
// httpProviderPresets query.
type HTTPPreset struct {
	Provider outbox.HTTPProvider
	// Name is the provider's name as shown to a shop owner.
	Name string
	// BaseURL is the API's base URL ("" for GENERIC, and for SES, where it
	// follows the region: email.<region>.amazonaws.com).
	BaseURL string
	// AuthHeader is the header that carries the credential ("" for
	// GENERIC, where the tenant names it).
	AuthHeader string
	// Needs lists the HttpApiInput fields the provider needs besides
	// authValue: "url" and "authHeader" (GENERIC), "domain", "region",
	// "accessKeyId".
	Needs []string
	// Limits are the provider's per-message or default rate limits; zero
	// fields are unlimited.
	Limits Limits
	// LimitsConfigurable says the provider's limits differ per account, so
	// a tenant may set limits above these defaults.
	LimitsConfigurable bool
	// Note says what credential to create and what it needs.
	Note string
}

// HTTPPresets returns the HTTP mail APIs in the order the form lists them,
// GENERIC last. The slice is the caller's to keep or change.
func HTTPPresets() []HTTPPreset {
	return []HTTPPreset{
		{
			Provider: outbox.HTTPSendGrid, Name: "SendGrid", BaseURL: transport.NativeBaseURL(outbox.HTTPSendGrid, ""),
			AuthHeader: "Authorization", Limits: Limits{RecipientsPerMessage: 1000},
			Note: "Create an API key under Settings → API Keys with Restricted Access and the Mail Send permission (Full Access works too). " +
				"The From address must be a verified Single Sender or on an authenticated domain.",
		},
		{
			Provider: outbox.HTTPPostmark, Name: "Postmark", BaseURL: transport.NativeBaseURL(outbox.HTTPPostmark, ""),
			AuthHeader: "X-Postmark-Server-Token", Limits: Limits{RecipientsPerMessage: 50},
			Note: "Use the Server API token of the sending server (Servers → your server → API Tokens), not the Account API token. " +
				"The From address must be a confirmed Sender Signature or on a verified domain.",
		},
		{
			Provider: outbox.HTTPMailgun, Name: "Mailgun", BaseURL: transport.NativeBaseURL(outbox.HTTPMailgun, "US"),
			AuthHeader: "Authorization", Needs: []string{"domain", "region"}, Limits: Limits{RecipientsPerMessage: 1000},
			Note: "Create a sending API key for the domain (Sending → Domain settings → Sending keys), or use the private API key. " +
				"Enter the sending domain (like mg.example.com) and its region: EU for domains created in the EU (api.eu.mailgun.net), else US.",
		},
		{
			Provider: outbox.HTTPSES, Name: "Amazon SES", AuthHeader: "Authorization", Needs: []string{"region", "accessKeyId"},
			Limits: Limits{PerSecond: 14, PerDay: 50000, RecipientsPerMessage: 50}, LimitsConfigurable: true,
			Note: "Create an IAM user (or access key) allowed ses:SendRawEmail and ses:SendEmail on your identities, and enter its access key id, " +
				"secret access key and the SES region (like eu-west-1). Set the rate and daily quota to your account's " +
				"(a new account in the sandbox may send 1 message a second, 200 a day, to verified addresses only).",
		},
		{
			Provider: outbox.HTTPResend, Name: "Resend", BaseURL: transport.NativeBaseURL(outbox.HTTPResend, ""),
			AuthHeader: "Authorization", Limits: Limits{PerSecond: 2, RecipientsPerMessage: 50}, LimitsConfigurable: true,
			Note: "Create an API key under API Keys with Sending access (or Full access). The From address must be on a domain verified at Resend. " +
				"Resend allows 2 requests a second unless your plan says more.",
		},
		{
			Provider: outbox.HTTPGeneric, Name: "Other HTTP API (Outbox JSON)", Needs: []string{"url", "authHeader"},
			Note: "Outbox POSTs its own JSON to your URL, with the header you name carrying your credential.",
		},
	}
}

// HTTPPresetOf returns the preset of provider ("" is GENERIC), and false
// when there is none.
func HTTPPresetOf(provider outbox.HTTPProvider) (HTTPPreset, bool) {
	if provider == "" {
		provider = outbox.HTTPGeneric
	}
	for _, p := range HTTPPresets() {
		if p.Provider == provider {
			return p, true
		}
	}
	return HTTPPreset{}, false
}
