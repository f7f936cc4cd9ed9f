package sender

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

// requireInvalid asserts that err is an outbox.EINVALID error about field,
// and that its message contains every one of wantInMessage.
func requireInvalid(t *testing.T, err error, field string, wantInMessage ...string) {
	t.Helper()
	require.Error(t, err)
	e := outbox.AsError(err)
	require.NotNil(t, e, "want an *outbox.Error, got %T: %v", err, err)
	require.Equal(t, outbox.EINVALID, e.Code, "error: %v", err)
	require.Equal(t, field, e.Field, "error: %v", err)
	for _, s := range wantInMessage {
		require.Contains(t, e.Message, s)
	}
}

// bccList returns n distinct addresses separated by commas.
func bccList(n int) string {
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("a%d@example.com", i)
	}
	return strings.Join(addrs, ",")
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want string // normalized; "" means rejected
		why  string
	}{
		{host: "smtp.gmail.com", want: "smtp.gmail.com"},
		{host: "SMTP.Example.COM", want: "smtp.example.com"},
		{host: "mailrelay", want: "mailrelay"},
		{host: "localhost", want: "localhost"},
		{host: "メール.例え.jp", want: "xn--4dkua4c.xn--r8jz45g.jp"},
		{host: "sv1234.xserver.jp", want: "sv1234.xserver.jp"},
		{host: "192.0.2.10", want: "192.0.2.10"},
		{host: "2001:db8::1", want: "2001:db8::1"},
		{host: "2001:DB8:0::1", want: "2001:db8::1"},
		{host: "::1", want: "::1"},

		{host: "", why: "enter the server's host name"},
		{host: "smtp://smtp.gmail.com", why: "without a scheme"},
		{host: "https://smtp.gmail.com", why: "without a scheme"},
		{host: "smtp.gmail.com:587", why: "port field"},
		{host: "[2001:db8::1]", why: "without brackets"},
		{host: "[2001:db8::1]:587", why: "without brackets"},
		{host: "smtp.gmail.com/", why: "without a path"},
		{host: "user@smtp.gmail.com", why: "without a path or user name"},
		{host: " smtp.gmail.com", why: "spaces"},
		{host: "smtp gmail.com", why: "spaces"},
		{host: "smtp.gmail.com\r\n", why: "spaces"},
		{host: "smtp..gmail.com", why: "two dots"},
		{host: "smtp.gmail.com.", why: "start or end with a dot"},
		{host: "smtp_gmail.com", why: "not a valid domain"},
		{host: "-smtp.gmail.com", why: "not a valid domain"},
		{host: "999.1.1.1", why: "not an IP address"},
		{host: "1.2.3", why: "not an IP address"},
		{host: "fe80::1%eth0", why: "zone"},
		{host: strings.Repeat("a", 64) + ".com", why: "not a valid domain"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			got, err := normalizeHost("smtp.host", tt.host)
			if tt.want == "" {
				requireInvalid(t, err, "smtp.host", tt.why)
				requireInvalid(t, CheckHost("smtp.host", tt.host), "smtp.host", tt.why)
				return
			}
			require.NoError(t, err)
			require.NoError(t, CheckHost("smtp.host", tt.host))
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCheckPort(t *testing.T) {
	t.Parallel()
	for _, ok := range []int{1, 25, 465, 587, 2525, 65535} {
		require.NoError(t, CheckPort("smtp.port", ok))
	}
	for _, bad := range []int{-1, 0, 65536, 1 << 40} {
		requireInvalid(t, CheckPort("smtp.port", bad), "smtp.port", "between 1 and 65535")
	}
}

func TestCheckSecurityForPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		port     int
		security outbox.SMTPSecurity
		why      string // "" when accepted
	}{
		{465, outbox.SecurityImplicitTLS, ""},
		{587, outbox.SecurityStartTLS, ""},
		{587, outbox.SecurityNone, ""},
		{25, outbox.SecurityNone, ""},
		{25, outbox.SecurityStartTLS, ""},
		{2525, outbox.SecurityImplicitTLS, ""},
		{465, outbox.SecurityStartTLS, "port 465 uses implicit TLS: choose IMPLICIT_TLS, or port 587 for STARTTLS"},
		{465, outbox.SecurityNone, "port 465 uses implicit TLS: choose IMPLICIT_TLS"},
		{587, outbox.SecurityImplicitTLS, "port 587 uses STARTTLS: choose STARTTLS, or port 465 for IMPLICIT_TLS"},
	}
	for _, tt := range tests {
		err := CheckSecurityForPort(tt.port, tt.security)
		if tt.why == "" {
			require.NoError(t, err, "%d %s", tt.port, tt.security)
			continue
		}
		requireInvalid(t, err, "smtp.security", tt.why)
	}
}

func TestCheckHTTPURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		why string // "" when accepted
	}{
		{"https://api.example.com/v1/send", ""},
		{"https://api.example.com:8443/send?tenant=1", ""},
		{"HTTPS://API.EXAMPLE.COM/send", ""},
		{"https://メール.例え.jp/send", ""},
		{"https://192.0.2.1/send", ""},
		{"https://[2001:db8::1]:8443/send", ""},
		{"http://localhost:8025/send", ""},
		{"http://LOCALHOST/send", ""},
		{"http://127.0.0.1:9000/send", ""},
		{"http://127.1.2.3/send", ""},
		{"http://[::1]:9000/send", ""},

		{"", "enter the URL"},
		{"api.example.com/send", "absolute URL"},
		{"/send", "absolute URL"},
		{"https:///send", "absolute URL"},
		{"https:api.example.com", "absolute URL"},
		{"http://api.example.com/send", "must use https"},
		{"http://192.0.2.1/send", "must use https"},
		{"http://localhost.example.com/send", "must use https"},
		{"ftp://api.example.com/send", "must use https"},
		{"smtp://smtp.example.com", "must use https"},
		{"https://user:pass@api.example.com/send", "user name or password"},
		{"https://user@api.example.com/send", "user name or password"},
		{"https://api.example.com/send#frag", "fragment"},
		{"https://api.example.com/send#", "fragment"},
		{"https://api.example.com:0/send", "invalid port"},
		{"https://api.example.com:70000/send", "invalid port"},
		{"https://api.example.com:/send", "empty port"},
		{"https://api.example.com/se nd", "spaces"},
		{"https://api.example.com/send\r\nX: y", "spaces"},
		{"https://api_example.com/send", "invalid host"},
		{"https://" + strings.Repeat("a", 2100) + ".com/", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			err := CheckHTTPURL("http.url", tt.url)
			if tt.why == "" {
				require.NoError(t, err)
				return
			}
			requireInvalid(t, err, "http.url", tt.why)
		})
	}
}

func TestCheckHeaderName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"Authorization", "X-Api-Key", "x-api-key", "X_Token", "api-key!"} {
		require.NoError(t, checkHeaderName("http.authHeader", ok), ok)
	}
	for _, bad := range []string{"", "X Api Key", "X-Key:", "X-Key\r\n", "Ключ", "(x)", "Host", "content-length", "Content-Type", "TRANSFER-ENCODING"} {
		requireInvalid(t, checkHeaderName("http.authHeader", bad), "http.authHeader")
	}
}

// validSMTP returns SMTP settings that pass Normalize as they are.
func validSMTP() Settings {
	return Settings{
		Mode:      outbox.ModeSMTP,
		FromName:  "Acme Shop",
		FromEmail: "shop@example.com",
		SMTP: &SMTP{
			Preset:   "gmail",
			Host:     "smtp.gmail.com",
			Port:     587,
			Security: outbox.SecurityStartTLS,
			Auth:     outbox.AuthPlain,
			Username: "shop@example.com",
			Password: "abcd efgh ijkl mnop",
		},
	}
}

// validHTTP returns HTTP settings that pass Normalize as they are.
func validHTTP() Settings {
	return Settings{
		Mode:      outbox.ModeHTTP,
		FromEmail: "shop@example.com",
		HTTP: &HTTPAPI{
			URL:        "https://api.example.com/send",
			AuthHeader: "Authorization",
			AuthValue:  "Bearer s3cret",
		},
	}
}

func TestNormalizeAcceptsAndNormalizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   func() Settings
		want func() Settings
	}{
		{
			name: "platform needs nothing",
			in:   func() Settings { return Settings{Mode: outbox.ModePlatform} },
			want: func() Settings { return Settings{Mode: outbox.ModePlatform} },
		},
		{
			name: "platform drops transport blocks",
			in: func() Settings {
				s := validSMTP()
				s.Mode, s.HTTP = outbox.ModePlatform, validHTTP().HTTP
				return s
			},
			want: func() Settings {
				s := validSMTP()
				s.Mode, s.SMTP = outbox.ModePlatform, nil
				return s
			},
		},
		{
			name: "identity fields are normalized",
			in: func() Settings {
				return Settings{
					Mode:          outbox.ModeBranded,
					FromName:      `  Shop [Tokyo]; "Best" <deals>, Inc. @ Home. `,
					FromEmail:     " Info@例え.JP ",
					ReplyTo:       "support@Bücher.de",
					ContactEmail:  "  ",
					BCC:           []string{"a@x.com, B@X.com", "", "c@y.jp, A@X.COM"},
					ArchiveCopyTo: "archive@example.com",
				}
			},
			want: func() Settings {
				return Settings{
					Mode:          outbox.ModeBranded,
					FromName:      `Shop [Tokyo]; "Best" <deals>, Inc. @ Home.`,
					FromEmail:     "Info@xn--r8jz45g.jp",
					ReplyTo:       "support@xn--bcher-kva.de",
					BCC:           []string{"a@x.com", "B@x.com", "c@y.jp"},
					ArchiveCopyTo: "archive@example.com",
				}
			},
		},
		{
			name: "japanese display name unchanged",
			in: func() Settings {
				return Settings{Mode: outbox.ModeBranded, FromName: "株式会社テスト", FromEmail: "info@example.jp"}
			},
			want: func() Settings {
				return Settings{Mode: outbox.ModeBranded, FromName: "株式会社テスト", FromEmail: "info@example.jp"}
			},
		},
		{
			name: "smtp",
			in: func() Settings {
				s := validSMTP()
				s.HTTP = validHTTP().HTTP
				s.SMTP.Preset = " GMAIL "
				s.SMTP.Host = " SMTP.Gmail.com "
				s.SMTP.Username = " shop@example.com "
				s.SMTP.Password = " keep my spaces "
				s.SMTP.Limits = Limits{PerDay: 100}
				return s
			},
			want: func() Settings {
				s := validSMTP()
				s.SMTP.Password = " keep my spaces "
				s.SMTP.Limits = Limits{PerDay: 100}
				return s
			},
		},
		{
			name: "smtp without preset is custom",
			in: func() Settings {
				s := validSMTP()
				s.SMTP.Preset, s.SMTP.Host = "", "mail.例え.jp"
				s.SMTP.Limits = Limits{PerHour: 1000000}
				return s
			},
			want: func() Settings {
				s := validSMTP()
				s.SMTP.Preset, s.SMTP.Host = "custom", "mail.xn--r8jz45g.jp"
				s.SMTP.Limits = Limits{PerHour: 1000000}
				return s
			},
		},
		{
			name: "smtp auth NONE clears credentials",
			in: func() Settings {
				s := validSMTP()
				s.SMTP.Preset, s.SMTP.Host, s.SMTP.Port = "custom", "127.0.0.1", 25
				s.SMTP.Security, s.SMTP.Auth, s.SMTP.SkipTLSVerify = outbox.SecurityNone, outbox.AuthNone, true
				return s
			},
			want: func() Settings {
				s := validSMTP()
				s.SMTP.Preset, s.SMTP.Host, s.SMTP.Port = "custom", "127.0.0.1", 25
				s.SMTP.Security, s.SMTP.Auth = outbox.SecurityNone, outbox.AuthNone
				s.SMTP.Username, s.SMTP.Password = "", ""
				return s
			},
		},
		{
			name: "amazon ses may raise its limits",
			in: func() Settings {
				s := validSMTP()
				s.SMTP.Preset, s.SMTP.Host = "amazon_ses", "email-smtp.ap-northeast-1.amazonaws.com"
				s.SMTP.Limits = Limits{PerSecond: 200, PerDay: 1000000}
				return s
			},
			want: func() Settings {
				s := validSMTP()
				s.SMTP.Preset, s.SMTP.Host = "amazon_ses", "email-smtp.ap-northeast-1.amazonaws.com"
				s.SMTP.Limits = Limits{PerSecond: 200, PerDay: 1000000}
				return s
			},
		},
		{
			name: "http",
			in: func() Settings {
				s := validHTTP()
				s.SMTP = validSMTP().SMTP
				s.HTTP.URL = " https://api.example.com/send "
				s.HTTP.AuthHeader = " X-Api-Key "
				s.HTTP.Limits = Limits{PerMinute: 60}
				return s
			},
			want: func() Settings {
				s := validHTTP()
				s.HTTP.Provider = outbox.HTTPGeneric
				s.HTTP.AuthHeader = "X-Api-Key"
				s.HTTP.Limits = Limits{PerMinute: 60}
				return s
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.in()
			require.NoError(t, s.Normalize())
			require.Equal(t, tt.want(), s)

			again := s
			require.NoError(t, again.Normalize())
			require.Equal(t, s, again, "normalizing twice must change nothing")
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Settings)
		field  string
		why    string
	}{
		{"no mode", func(s *Settings) { s.Mode = "" }, "mode", "choose how mail is sent"},
		{"unknown mode", func(s *Settings) { s.Mode = "FAX" }, "mode", `"FAX"`},
		{"branded needs fromEmail", func(s *Settings) { s.Mode, s.SMTP, s.FromEmail = outbox.ModeBranded, nil, " " }, "fromEmail", "BRANDED"},
		{"smtp needs fromEmail", func(s *Settings) { s.FromEmail = "" }, "fromEmail", "SMTP"},
		{"http needs fromEmail", func(s *Settings) { *s = validHTTP(); s.FromEmail = "" }, "fromEmail", "HTTP"},
		{"platform validates given fromEmail", func(s *Settings) { s.Mode, s.FromEmail = outbox.ModePlatform, "nope" }, "fromEmail", "no @"},
		{"fromName injection", func(s *Settings) { s.FromName = "Evil\r\nBcc: x@y" }, "fromName", "line break"},
		{"fromName injection hidden by spaces", func(s *Settings) { s.FromName = "Evil \r\n" }, "fromName", "line break"},
		{"fromName too long", func(s *Settings) { s.FromName = strings.Repeat("a", 201) }, "fromName", "at most 200"},
		{"replyTo", func(s *Settings) { s.ReplyTo = "a b@example.com" }, "replyTo", "space"},
		{"contactEmail", func(s *Settings) { s.ContactEmail = "x@" }, "contactEmail", "domain is empty"},
		{"archiveCopyTo", func(s *Settings) { s.ArchiveCopyTo = "Archive <a@example.com>" }, "archiveCopyTo", "angle brackets"},
		{"bcc entry", func(s *Settings) { s.BCC = []string{"a@x.com", "x"} }, "bcc[1]", "no @"},
		{"bcc count", func(s *Settings) { s.BCC = []string{bccList(11)} }, "bcc", "11 were given"},
		{"smtp block missing", func(s *Settings) { s.SMTP = nil }, "smtp", "SMTP server"},
		{"smtp unknown preset", func(s *Settings) { s.SMTP.Preset = "aol" }, "smtp.preset", `"aol"`},
		{"smtp host missing", func(s *Settings) { s.SMTP.Host = " " }, "smtp.host", "smtp.example.com"},
		{"smtp host missing shows pattern", func(s *Settings) { s.SMTP.Preset, s.SMTP.Host = "xserver", "" }, "smtp.host", "sv****.xserver.jp"},
		{"smtp host with port", func(s *Settings) { s.SMTP.Host = "smtp.gmail.com:587" }, "smtp.host", "port field"},
		{"smtp port", func(s *Settings) { s.SMTP.Port = 0 }, "smtp.port", "between 1 and 65535"},
		{"smtp security missing", func(s *Settings) { s.SMTP.Security = "" }, "smtp.security", "IMPLICIT_TLS, STARTTLS or NONE"},
		{"smtp security unknown", func(s *Settings) { s.SMTP.Security = "SSL" }, "smtp.security", "IMPLICIT_TLS, STARTTLS or NONE"},
		{"smtp 465 starttls", func(s *Settings) { s.SMTP.Port = 465 }, "smtp.security", "port 465 uses implicit TLS"},
		{"smtp 587 implicit", func(s *Settings) { s.SMTP.Security = outbox.SecurityImplicitTLS }, "smtp.security", "port 587 uses STARTTLS"},
		{"smtp auth unknown", func(s *Settings) { s.SMTP.Auth = "NTLM" }, "smtp.auth", "PLAIN, LOGIN"},
		{"smtp username missing", func(s *Settings) { s.SMTP.Username = " " }, "smtp.username", "user name"},
		{"smtp username injection", func(s *Settings) { s.SMTP.Username = "a\x00b" }, "smtp.username", "control"},
		{"smtp password missing", func(s *Settings) { s.SMTP.Password = "" }, "smtp.password", "app password"},
		{"smtp password line break", func(s *Settings) { s.SMTP.Password = "secret\n" }, "smtp.password", "line break"},
		{"smtp password NUL", func(s *Settings) { s.SMTP.Password = "a\x00b" }, "smtp.password", "NUL"},
		{"smtp password huge", func(s *Settings) { s.SMTP.Password = strings.Repeat("p", 9000) }, "smtp.password", "longer than"},
		{"smtp xoauth2 needs username", func(s *Settings) { s.SMTP.Auth, s.SMTP.Username = outbox.AuthXOAuth2, "" }, "smtp.username", "user name"},
		{"smtp oauth connection not an id", func(s *Settings) { s.SMTP.Auth, s.SMTP.OAuthConnection = outbox.AuthXOAuth2, "conn-1" }, "smtp.oauthConnection", "connection id"},
		{"smtp oauth connection needs XOAUTH2", func(s *Settings) { s.SMTP.OAuthConnection = "0b6f5e2c-8d61-4d1e-9a44-7b3f2f1c0a11" }, "smtp.auth", "XOAUTH2"},
		{"smtp oauth connection needs TLS", func(s *Settings) {
			s.SMTP.Auth, s.SMTP.Security, s.SMTP.OAuthConnection = outbox.AuthXOAuth2, outbox.SecurityNone, "0b6f5e2c-8d61-4d1e-9a44-7b3f2f1c0a11"
		}, "smtp.security", "bearer token"},
		{"smtp negative limit", func(s *Settings) { s.SMTP.Limits.PerHour = -1 }, "smtp.limits.perHour", "negative"},
		{"smtp limit above preset", func(s *Settings) { s.SMTP.Limits.PerDay = 501 }, "smtp.limits.perDay", "at most 500 for Gmail"},
		{"http block missing", func(s *Settings) { *s = validHTTP(); s.HTTP = nil }, "http", "HTTP mail API"},
		{"http url", func(s *Settings) { *s = validHTTP(); s.HTTP.URL = "http://api.example.com" }, "http.url", "https"},
		{"http url missing", func(s *Settings) { *s = validHTTP(); s.HTTP.URL = "" }, "http.url", "enter the URL"},
		{"http header missing", func(s *Settings) { *s = validHTTP(); s.HTTP.AuthHeader = "" }, "http.authHeader", "Authorization"},
		{"http header invalid", func(s *Settings) { *s = validHTTP(); s.HTTP.AuthHeader = "Auth: x" }, "http.authHeader", "valid header name"},
		{"http header reserved", func(s *Settings) { *s = validHTTP(); s.HTTP.AuthHeader = "host" }, "http.authHeader", "set by Outbox"},
		{"http value missing", func(s *Settings) { *s = validHTTP(); s.HTTP.AuthValue = "" }, "http.authValue", "Authorization header"},
		{"http value injection", func(s *Settings) { *s = validHTTP(); s.HTTP.AuthValue = "k\r\nX-Evil: 1" }, "http.authValue", "line break"},
		{"http negative limit", func(s *Settings) { *s = validHTTP(); s.HTTP.Limits.PerSecond = -5 }, "http.limits.perSecond", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := validSMTP()
			tt.mutate(&s)
			before := clone(s)
			requireInvalid(t, s.Normalize(), tt.field, tt.why)
			require.Equal(t, before, s, "a failed Normalize must leave the settings as they were")
		})
	}
}

// clone deep-copies s, so that a comparison sees changes made through its
// pointers and slices.
func clone(s Settings) Settings {
	c := s
	if s.BCC != nil {
		c.BCC = append([]string(nil), s.BCC...)
	}
	if s.SMTP != nil {
		v := *s.SMTP
		c.SMTP = &v
	}
	if s.HTTP != nil {
		v := *s.HTTP
		c.HTTP = &v
	}
	return c
}

func TestNormalizeDoesNotChangeCallersBlocks(t *testing.T) {
	t.Parallel()
	s := validSMTP()
	s.SMTP.Host = " SMTP.GMAIL.COM "
	block := s.SMTP
	require.NoError(t, s.Normalize())
	require.Equal(t, "smtp.gmail.com", s.SMTP.Host)
	require.Equal(t, " SMTP.GMAIL.COM ", block.Host, "the caller's SMTP block must not be modified")
}

func TestNormalizeAcceptsEveryPresetAsFilled(t *testing.T) {
	t.Parallel()
	for _, p := range Presets() {
		t.Run(p.Key, func(t *testing.T) {
			t.Parallel()
			host := p.Host
			if host == "" {
				host = "smtp.example.com"
			}
			s := Settings{
				Mode:      outbox.ModeSMTP,
				FromEmail: "shop@example.com",
				SMTP: &SMTP{
					Preset: p.Key, Host: host, Port: p.Port, Security: p.Security, Auth: p.Auth,
					Username: "user", Password: "password", Limits: p.Limits,
				},
			}
			require.NoError(t, s.Normalize())
		})
	}
}

// TestNormalizeOAuthConnection: with an OAuth connection no password is
// needed (nor kept) and the id is canonical.
func TestNormalizeOAuthConnection(t *testing.T) {
	t.Parallel()
	s := validSMTP()
	s.SMTP.Auth, s.SMTP.Password, s.SMTP.OAuthConnection = outbox.AuthXOAuth2, "left over", " 0B6F5E2C-8D61-4D1E-9A44-7B3F2F1C0A11 "
	require.NoError(t, s.Normalize())
	require.Equal(t, "0b6f5e2c-8d61-4d1e-9a44-7b3f2f1c0a11", s.SMTP.OAuthConnection)
	require.Empty(t, s.SMTP.Password)
}
