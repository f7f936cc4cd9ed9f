package sender

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

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

func TestNormalizeAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // "" means the address is rejected
		why  string // a part of the rejection message
	}{
		{in: "shop@example.com", want: "shop@example.com"},
		{in: "  shop@example.com\t", want: "shop@example.com"},
		{in: "Shop.Owner+orders@Example.COM", want: "Shop.Owner+orders@example.com"},
		{in: "info@例え.jp", want: "info@xn--r8jz45g.jp"},
		{in: "user@bücher.de", want: "user@xn--bcher-kva.de"},
		{in: "user@BÜCHER.de", want: "user@xn--bcher-kva.de"},
		{in: "user@xn--bcher-kva.de", want: "user@xn--bcher-kva.de"},
		{in: "info@例え。jp", want: "info@xn--r8jz45g.jp"},       // ideographic full stop is a dot in IDNA
		{in: "user@straße.de", want: "user@xn--strae-oqa.de"}, // non-transitional: ß is kept
		{in: "a!#$%&'*+-/=?^_`{|}~z@example.com", want: "a!#$%&'*+-/=?^_`{|}~z@example.com"},
		{in: "x@sub-domain.example.co.jp", want: "x@sub-domain.example.co.jp"},
		{in: strings.Repeat("a", 64) + "@example.com", want: strings.Repeat("a", 64) + "@example.com"},

		{in: "", why: "enter an email address"},
		{in: "   ", why: "enter an email address"},
		{in: "shop.example.com", why: "no @"},
		{in: "@example.com", why: "before @ is empty"},
		{in: "shop@", why: "domain is empty"},
		{in: "shop@@example.com", why: "before @"},
		{in: "a@b@example.com", why: "before @"},
		{in: "shop owner@example.com", why: "space"},
		{in: "shop@exam ple.com", why: "space"},
		{in: "shop@example.com\r\nBcc: x@y.com", why: "line break"},
		{in: "shop\x00@example.com", why: "control character"},
		{in: "Shop <shop@example.com>", why: "without a name"},
		{in: "<shop@example.com>", why: "without a name"},
		{in: "a@example.com, b@example.com", why: "space"},
		{in: "a@example.com,b@example.com", why: "single address"},
		{in: "sh..op@example.com", why: "two dots"},
		{in: ".shop@example.com", why: "start or end with a dot"},
		{in: "shop.@example.com", why: "start or end with a dot"},
		{in: "shop@example..com", why: "two dots"},
		{in: "shop@.example.com", why: "start or end with a dot"},
		{in: "shop@example.com.", why: "start or end with a dot"},
		{in: "shop@例え。。jp", why: "not a valid domain"},
		{in: `"shop owner"@example.com`, why: "space"},
		{in: `"shop"@example.com`, why: "quoted"},
		{in: "shop(comment)@example.com", why: "'('"},
		{in: "ショップ@example.jp", why: "ASCII"},
		{in: strings.Repeat("a", 65) + "@example.com", why: "longer than 64"},
		{in: "shop@" + strings.Repeat("a", 64) + ".com", why: "not a valid domain"},
		{in: "shop@" + strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com", why: "not a valid domain"},
		{in: strings.Repeat("a", 64) + "@" + strings.Repeat(strings.Repeat("b", 62)+".", 3) + "com", why: "longer than 254"},
		{in: "shop@localhost", why: "full domain name"},
		{in: "shop@192.0.2.1", why: "not an IP address"},
		{in: "shop@[192.0.2.1]", why: "brackets"},
		{in: "shop@exa_mple.com", why: "not a valid domain"},
		{in: "shop@-example.com", why: "not a valid domain"},
		{in: "shop@xn--zz.com", why: "not a valid domain"},
		{in: "shop@exa\u2060mple.com", want: "shop@example.com"}, // IDNA maps the invisible word joiner to nothing
		{in: "shop@exa\u00admple.com", want: "shop@example.com"}, // and the soft hyphen
		{in: "shop@exa!mple.com", why: "not a valid domain"},
		{in: "shop@exa\u200emple.com", why: "not a valid domain"}, // left-to-right mark
		{in: "shop@ex\xffample.com", why: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeAddress("replyTo", tt.in)
			if tt.want == "" {
				requireInvalid(t, err, "replyTo", tt.why)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			again, err := NormalizeAddress("replyTo", got)
			require.NoError(t, err, "a normalized address must stay valid")
			require.Equal(t, got, again, "normalizing twice must change nothing")
		})
	}
}

func TestNormalizeAddressErrorShortensHugeInput(t *testing.T) {
	t.Parallel()
	_, err := NormalizeAddress("fromEmail", strings.Repeat("x", 10000)+"@example.com")
	requireInvalid(t, err, "fromEmail")
	require.Less(t, len(err.Error()), 300)
}

func TestCheckDisplayName(t *testing.T) {
	t.Parallel()
	accepted := []string{
		"",
		"Acme Shop",
		`Shop [Tokyo]; "Best" <deals>, Inc. @ Home.`,
		"株式会社テスト",
		"Café Müller — Köln",
		"🎉 Party Store 👩‍👩‍👧",
		"שלום shop",
		"tab-free\u00a0nbsp",
		strings.Repeat("店", MaxDisplayNameRunes),
	}
	for _, name := range accepted {
		t.Run("ok/"+name, func(t *testing.T) {
			t.Parallel()
			require.NoError(t, CheckDisplayName("fromName", name))
		})
	}

	rejected := []struct{ name, why string }{
		{"Evil\r\nBcc: x@y", "line break"},
		{"Evil\nBcc: x@y", "line break"},
		{"Evil\rX", "line break"},
		{"Evil\u2028X", "line break"},
		{"Evil\u2029X", "line break"},
		{"a\x00b", "control characters"},
		{"a\tb", "control characters"},
		{"a\x1bb", "control characters"},
		{"a\x7fb", "control characters"},
		{"a\u0085b", "control characters"},
		{"a\xffb", "UTF-8"},
		{strings.Repeat("店", MaxDisplayNameRunes+1), "at most 200"},
	}
	for _, tt := range rejected {
		t.Run("bad/"+tt.name, func(t *testing.T) {
			t.Parallel()
			requireInvalid(t, CheckDisplayName("fromName", tt.name), "fromName", tt.why)
		})
	}
}

func TestCheckHeaderValue(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "Bearer abc.DEF-123_~+/=", "key with spaces", "日本語 ok", "\x80\xff obs-text"} {
		require.NoError(t, CheckHeaderValue("http.authValue", ok), "%q", ok)
	}
	for _, bad := range []string{"a\rb", "a\nb", "abc\r\n", "a\x00b", "a\tb", "a\x01b", "a\x1fb", "a\x7fb"} {
		requireInvalid(t, CheckHeaderValue("http.authValue", bad), "http.authValue")
	}
}

func TestParseBCC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []string
		want    []string
		field   string // the field of the expected error; "" for success
		message string
	}{
		{name: "nil", in: nil, want: nil},
		{name: "blanks only", in: []string{"", " ", " , ;"}, want: nil},
		{name: "one", in: []string{"a@example.com"}, want: []string{"a@example.com"}},
		{
			name: "comma separated in one entry",
			in:   []string{"a@x.com, b@y.jp"},
			want: []string{"a@x.com", "b@y.jp"},
		},
		{
			name: "mixed separators and entries",
			in:   []string{"a@x.com;b@y.jp,, ", "c@z.com", " d@例え.jp "},
			want: []string{"a@x.com", "b@y.jp", "c@z.com", "d@xn--r8jz45g.jp"},
		},
		{
			name: "duplicates with different case keep the first",
			in:   []string{"Orders@Example.com", "orders@example.COM, b@x.com", "ORDERS@EXAMPLE.COM"},
			want: []string{"Orders@example.com", "b@x.com"},
		},
		{
			name: "IDN duplicate in both spellings",
			in:   []string{"info@例え.jp", "info@xn--r8jz45g.jp"},
			want: []string{"info@xn--r8jz45g.jp"},
		},
		{
			name: "ten is the limit",
			in:   []string{bccList(10)},
			want: strings.Split(bccList(10), ","),
		},
		{
			name: "duplicates do not count toward the limit",
			in:   []string{bccList(10), "a0@example.com", "A9@example.com"},
			want: strings.Split(bccList(10), ","),
		},
		{
			name: "eleven", in: strings.Split(bccList(11), ","),
			field: "bcc", message: "at most 10 BCC addresses are allowed; 11 were given",
		},
		{
			name: "eleven in one entry", in: []string{bccList(11)},
			field: "bcc", message: "11 were given",
		},
		{
			name: "bad address names its entry", in: []string{"a@x.com", "b@y.com", "c@z.com, not-an-address"},
			field: "bcc[2]", message: `"not-an-address"`,
		},
		{
			name: "header injection", in: []string{"a@x.com\r\nSubject: hi"},
			field: "bcc[0]", message: "line break",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBCC("bcc", tt.in)
			if tt.field != "" {
				requireInvalid(t, err, tt.field, tt.message)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
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

// FuzzNormalizeAddress checks that no input makes NormalizeAddress panic,
// that every rejection is an EINVALID error about the field, and that every
// accepted address is a single-line ASCII addr-spec that normalizes to itself.
// The seed corpus is in testdata/fuzz/FuzzNormalizeAddress.
func FuzzNormalizeAddress(f *testing.F) {
	for _, seed := range []string{
		"shop@example.com", "info@例え.jp", "user@bücher.de", "a@b@c.com",
		"Shop <shop@example.com>", "x@example.com\r\nBcc: y@example.com",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeAddress("fromEmail", in)
		if err != nil {
			e := outbox.AsError(err)
			if e == nil || e.Code != outbox.EINVALID || e.Field != "fromEmail" {
				t.Fatalf("NormalizeAddress(%q) error = %#v, want an EINVALID error about fromEmail", in, err)
			}
			if out != "" {
				t.Fatalf("NormalizeAddress(%q) returned %q with an error", in, out)
			}
			return
		}
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("NormalizeAddress(%q) = %q contains CR or LF", in, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] >= 0x7f {
				t.Fatalf("NormalizeAddress(%q) = %q contains byte %#x", in, out, out[i])
			}
		}
		if strings.Count(out, "@") != 1 || len(out) > maxAddressLen {
			t.Fatalf("NormalizeAddress(%q) = %q is not one addr-spec of at most %d bytes", in, out, maxAddressLen)
		}
		again, err := NormalizeAddress("fromEmail", out)
		if err != nil || again != out {
			t.Fatalf("NormalizeAddress(%q) = %q, but normalizing that gives %q, %v", in, out, again, err)
		}
	})
}

// FuzzCheckDisplayName checks that no input makes CheckDisplayName panic and
// that every accepted name is valid single-line UTF-8 without control
// characters, short enough to encode. The seed corpus is in
// testdata/fuzz/FuzzCheckDisplayName.
func FuzzCheckDisplayName(f *testing.F) {
	for _, seed := range []string{
		"Acme Shop", `Shop [Tokyo]; "Best" <deals>, Inc. @ Home.`, "株式会社テスト",
		"Evil\r\nBcc: x@y", "🎉", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		err := CheckDisplayName("fromName", in)
		if err != nil {
			if e := outbox.AsError(err); e == nil || e.Code != outbox.EINVALID || e.Field != "fromName" {
				t.Fatalf("CheckDisplayName(%q) error = %#v, want an EINVALID error about fromName", in, err)
			}
			return
		}
		if strings.ContainsAny(in, "\r\n\u2028\u2029") {
			t.Fatalf("CheckDisplayName accepted %q, which contains a line break", in)
		}
		if !utf8.ValidString(in) || strings.ContainsFunc(in, unicode.IsControl) {
			t.Fatalf("CheckDisplayName accepted %q, which is invalid UTF-8 or has control characters", in)
		}
		if utf8.RuneCountInString(in) > MaxDisplayNameRunes {
			t.Fatalf("CheckDisplayName accepted %q, which is longer than %d runes", in, MaxDisplayNameRunes)
		}
	})
}
