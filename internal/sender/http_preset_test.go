package sender

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func providerSettings(c HTTPAPI) Settings {
	return Settings{Mode: outbox.ModeHTTP, FromEmail: "shop@example.com", HTTP: &c}
}

func TestNormalizeHTTPProviders(t *testing.T) {
	t.Parallel()
	ok := []struct {
		name     string
		in, want HTTPAPI
	}{
		{"sendgrid: the header is SendGrid's, the default base URL is dropped, stray fields cleared",
			HTTPAPI{Provider: outbox.HTTPSendGrid, URL: "https://api.sendgrid.com/", AuthHeader: "X-Whatever", AuthValue: "SG.key", Domain: "x.example", Region: "EU"},
			HTTPAPI{Provider: outbox.HTTPSendGrid, AuthHeader: "Authorization", AuthValue: "SG.key", Limits: Limits{}}},
		{"postmark keeps a test server's base URL",
			HTTPAPI{Provider: outbox.HTTPPostmark, URL: "http://127.0.0.1:8025", AuthValue: "token"},
			HTTPAPI{Provider: outbox.HTTPPostmark, URL: "http://127.0.0.1:8025", AuthHeader: "X-Postmark-Server-Token", AuthValue: "token"}},
		{"mailgun: region defaults to US, the domain to A-labels",
			HTTPAPI{Provider: outbox.HTTPMailgun, AuthValue: "key", Domain: " MG.Example.COM "},
			HTTPAPI{Provider: outbox.HTTPMailgun, AuthHeader: "Authorization", AuthValue: "key", Domain: "mg.example.com", Region: "US"}},
		{"mailgun EU: its EU base URL is the default there",
			HTTPAPI{Provider: outbox.HTTPMailgun, URL: "https://api.eu.mailgun.net", AuthValue: "key", Domain: "mg.example.com", Region: "eu"},
			HTTPAPI{Provider: outbox.HTTPMailgun, AuthHeader: "Authorization", AuthValue: "key", Domain: "mg.example.com", Region: "EU"}},
		{"ses",
			HTTPAPI{Provider: outbox.HTTPSES, AuthValue: "secret", Region: "EU-West-1", AccessKeyID: " AKIAIOSFODNN7EXAMPLE "},
			HTTPAPI{Provider: outbox.HTTPSES, AuthHeader: "Authorization", AuthValue: "secret", Region: "eu-west-1", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"}},
		{"resend may raise its default rate",
			HTTPAPI{Provider: outbox.HTTPResend, AuthValue: "re_key", Limits: Limits{PerSecond: 10}},
			HTTPAPI{Provider: outbox.HTTPResend, AuthHeader: "Authorization", AuthValue: "re_key", Limits: Limits{PerSecond: 10}}},
	}
	for _, tt := range ok {
		s := providerSettings(tt.in)
		require.NoError(t, s.Normalize(), tt.name)
		require.Equal(t, tt.want, *s.HTTP, tt.name)
	}

	bad := []struct {
		name, field, message string
		in                   HTTPAPI
	}{
		{"unknown provider", "http.provider", "unknown mail API", HTTPAPI{Provider: "SPARKPOST", AuthValue: "k"}},
		{"no key", "http.authValue", "Mail Send permission", HTTPAPI{Provider: outbox.HTTPSendGrid}},
		{"mailgun without domain", "http.domain", "sending domain", HTTPAPI{Provider: outbox.HTTPMailgun, AuthValue: "k"}},
		{"mailgun region", "http.region", "US or EU", HTTPAPI{Provider: outbox.HTTPMailgun, AuthValue: "k", Domain: "mg.example.com", Region: "ASIA"}},
		{"ses region", "http.region", "AWS region", HTTPAPI{Provider: outbox.HTTPSES, AuthValue: "k", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Region: "Ireland"}},
		{"ses key id", "http.accessKeyId", "access key id", HTTPAPI{Provider: outbox.HTTPSES, AuthValue: "k", Region: "eu-west-1", AccessKeyID: "not an id"}},
		{"plain http base URL", "http.url", "https", HTTPAPI{Provider: outbox.HTTPResend, AuthValue: "k", URL: "http://api.resend.com"}},
		{"postmark recipients above its limit", "http.limits.recipientsPerMessage", "at most 50", HTTPAPI{Provider: outbox.HTTPPostmark, AuthValue: "k", Limits: Limits{RecipientsPerMessage: 51}}},
	}
	for _, tt := range bad {
		s := providerSettings(tt.in)
		requireInvalid(t, s.Normalize(), tt.field, tt.message)
	}
}

func TestSameHTTPServerForProviders(t *testing.T) {
	t.Parallel()
	stored := &HTTPAPI{Provider: outbox.HTTPSES, AuthHeader: "Authorization", Region: "eu-west-1", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"}
	for name, tc := range map[string]struct {
		draft HTTPAPI
		same  bool
	}{
		"the same":           {HTTPAPI{Provider: outbox.HTTPSES, Region: "eu-west-1", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"}, true},
		"another key id":     {HTTPAPI{Provider: outbox.HTTPSES, Region: "eu-west-1", AccessKeyID: "AKIAIOSFODNN7EXAMPLF"}, false},
		"another region":     {HTTPAPI{Provider: outbox.HTTPSES, Region: "us-east-1", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"}, false},
		"a base URL of mine": {HTTPAPI{Provider: outbox.HTTPSES, Region: "eu-west-1", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", URL: "https://evil.example"}, false},
		"generic":            {HTTPAPI{URL: "https://email.eu-west-1.amazonaws.com", AuthHeader: "Authorization"}, false},
	} {
		same, err := sameHTTPServer(providerSettings(tc.draft), stored)
		require.NoError(t, err, name)
		require.Equal(t, tc.same, same, name)
	}
}
