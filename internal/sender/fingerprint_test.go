package sender

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

// fullSettings returns settings with every field set, both transport blocks
// included, so that a change to any field can show in the fingerprint.
func fullSettings() Settings {
	return Settings{
		Mode:          outbox.ModeSMTP,
		FromName:      "Acme Shop",
		FromEmail:     "shop@example.com",
		ReplyTo:       "support@example.com",
		ContactEmail:  "contact@example.com",
		BCC:           []string{"a@example.com", "b@example.com"},
		ArchiveCopyTo: "archive@example.com",
		SMTP: &SMTP{
			Preset:        "gmail",
			Host:          "smtp.gmail.com",
			Port:          587,
			Security:      outbox.SecurityStartTLS,
			Auth:          outbox.AuthPlain,
			Username:      "shop@example.com",
			Password:      "app-password",
			SkipTLSVerify: false,
			Limits:        Limits{PerSecond: 1, PerMinute: 2, PerHour: 3, PerDay: 4, RecipientsPerDay: 5, RecipientsPerMessage: 6},
		},
		HTTP: &HTTPAPI{
			URL:        "https://api.example.com/send",
			AuthHeader: "Authorization",
			AuthValue:  "Bearer token",
			Limits:     Limits{PerSecond: 7, PerMinute: 8, PerHour: 9, PerDay: 10, RecipientsPerDay: 11, RecipientsPerMessage: 12},
		},
	}
}

func TestFingerprintIsStableHex(t *testing.T) {
	t.Parallel()
	fp := Fingerprint(fullSettings())
	require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{64}$`), fp)
	require.Equal(t, fp, Fingerprint(fullSettings()), "equal settings give equal fingerprints")
	require.Equal(t, fp, Fingerprint(clone(fullSettings())))
	require.Equal(t, Fingerprint(Settings{}), Fingerprint(Settings{}))
}

func TestFingerprintChangesWithEachField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Settings)
	}{
		{"mode", func(s *Settings) { s.Mode = outbox.ModeHTTP }},
		{"fromName", func(s *Settings) { s.FromName = "Acme Shop!" }},
		{"fromName case", func(s *Settings) { s.FromName = "acme shop" }},
		{"fromEmail", func(s *Settings) { s.FromEmail = "shop2@example.com" }},
		{"replyTo", func(s *Settings) { s.ReplyTo = "" }},
		{"contactEmail", func(s *Settings) { s.ContactEmail = "other@example.com" }},
		{"bcc added", func(s *Settings) { s.BCC = append(s.BCC, "c@example.com") }},
		{"bcc removed", func(s *Settings) { s.BCC = s.BCC[:1] }},
		{"bcc none", func(s *Settings) { s.BCC = nil }},
		{"bcc order", func(s *Settings) { s.BCC = []string{"b@example.com", "a@example.com"} }},
		{"bcc joined", func(s *Settings) { s.BCC = []string{"a@example.comb@example.com"} }},
		{"bcc shifted into archive", func(s *Settings) {
			s.BCC = []string{"a@example.com"}
			s.ArchiveCopyTo = "b@example.com"
		}},
		{"archiveCopyTo", func(s *Settings) { s.ArchiveCopyTo = "archive2@example.com" }},
		{"smtp removed", func(s *Settings) { s.SMTP = nil }},
		{"smtp emptied", func(s *Settings) { s.SMTP = &SMTP{} }},
		{"smtp.preset", func(s *Settings) { s.SMTP.Preset = "google_workspace" }},
		{"smtp.host", func(s *Settings) { s.SMTP.Host = "smtp.googlemail.com" }},
		{"smtp.port", func(s *Settings) { s.SMTP.Port = 465 }},
		{"smtp.security", func(s *Settings) { s.SMTP.Security = outbox.SecurityImplicitTLS }},
		{"smtp.auth", func(s *Settings) { s.SMTP.Auth = outbox.AuthLogin }},
		{"smtp.username", func(s *Settings) { s.SMTP.Username = "shop2@example.com" }},
		{"smtp.password", func(s *Settings) { s.SMTP.Password = "app-passwore" }},
		{"smtp.password empty", func(s *Settings) { s.SMTP.Password = "" }},
		{"smtp.skipTlsVerify", func(s *Settings) { s.SMTP.SkipTLSVerify = true }},
		{"smtp.limits.perSecond", func(s *Settings) { s.SMTP.Limits.PerSecond++ }},
		{"smtp.limits.perMinute", func(s *Settings) { s.SMTP.Limits.PerMinute++ }},
		{"smtp.limits.perHour", func(s *Settings) { s.SMTP.Limits.PerHour++ }},
		{"smtp.limits.perDay", func(s *Settings) { s.SMTP.Limits.PerDay++ }},
		{"smtp.limits.recipientsPerDay", func(s *Settings) { s.SMTP.Limits.RecipientsPerDay++ }},
		{"smtp.limits.recipientsPerMessage", func(s *Settings) { s.SMTP.Limits.RecipientsPerMessage++ }},
		{"smtp.limits swapped", func(s *Settings) {
			s.SMTP.Limits.PerSecond, s.SMTP.Limits.PerMinute = s.SMTP.Limits.PerMinute, s.SMTP.Limits.PerSecond
		}},
		{"username and password boundary", func(s *Settings) {
			s.SMTP.Username, s.SMTP.Password = "shop@example.comapp", "-password"
		}},
		{"http removed", func(s *Settings) { s.HTTP = nil }},
		{"http emptied", func(s *Settings) { s.HTTP = &HTTPAPI{} }},
		{"http.url", func(s *Settings) { s.HTTP.URL = "https://api.example.com/send2" }},
		{"http.authHeader", func(s *Settings) { s.HTTP.AuthHeader = "X-Api-Key" }},
		{"http.authValue", func(s *Settings) { s.HTTP.AuthValue = "Bearer token2" }},
		{"http.limits.perSecond", func(s *Settings) { s.HTTP.Limits.PerSecond++ }},
		{"http.limits.perMinute", func(s *Settings) { s.HTTP.Limits.PerMinute++ }},
		{"http.limits.perHour", func(s *Settings) { s.HTTP.Limits.PerHour++ }},
		{"http.limits.perDay", func(s *Settings) { s.HTTP.Limits.PerDay++ }},
		{"http.limits.recipientsPerDay", func(s *Settings) { s.HTTP.Limits.RecipientsPerDay++ }},
		{"http.limits.recipientsPerMessage", func(s *Settings) { s.HTTP.Limits.RecipientsPerMessage++ }},
	}
	base := Fingerprint(fullSettings())
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		s := fullSettings()
		tt.mutate(&s)
		fp := Fingerprint(s)
		require.NotEqual(t, base, fp, "changing %s must change the fingerprint", tt.name)
		if other, dup := seen[fp]; dup {
			t.Fatalf("%s and %s give the same fingerprint", tt.name, other)
		}
		seen[fp] = tt.name
	}
}

// TestFingerprintCoversEveryField walks Settings by reflection and changes
// each leaf field in turn, so that a field added to Settings later fails this
// test until Fingerprint covers it.
func TestFingerprintCoversEveryField(t *testing.T) {
	t.Parallel()
	base := fullSettings()
	baseFP := Fingerprint(base)
	paths := leafFields(reflect.TypeFor[Settings](), nil, "")
	require.Greater(t, len(paths), 20, "the walk must reach the nested blocks")
	for _, p := range paths {
		s := clone(base)
		v := reflect.ValueOf(&s).Elem().FieldByIndex(p.index)
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Int:
			v.SetInt(v.Int() + 1)
		case reflect.Bool:
			v.SetBool(!v.Bool())
		case reflect.Slice:
			v.Set(reflect.Append(v, reflect.ValueOf("x@example.com")))
		default:
			t.Fatalf("%s: the test does not know how to change a %s; teach it, and Fingerprint", p.name, v.Kind())
		}
		require.NotEqual(t, baseFP, Fingerprint(s), "Fingerprint ignores %s", p.name)
	}
}

type fieldPath struct {
	name  string
	index []int
}

// leafFields lists the non-struct fields reachable from typ, stepping into
// structs and pointers to structs.
func leafFields(typ reflect.Type, index []int, prefix string) []fieldPath {
	var out []fieldPath
	for i := range typ.NumField() {
		f := typ.Field(i)
		idx := append(append([]int(nil), index...), i)
		name := strings.TrimPrefix(prefix+"."+f.Name, ".")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			out = append(out, leafFields(ft, idx, name)...)
			continue
		}
		out = append(out, fieldPath{name: name, index: idx})
	}
	return out
}

func TestFingerprintOfNormalizedSpellingsAgree(t *testing.T) {
	t.Parallel()
	a := validSMTP()
	a.FromEmail = "Shop@例え.jp"
	a.SMTP.Host = "SMTP.GMAIL.COM"
	a.BCC = []string{"x@example.com, y@example.com"}
	b := validSMTP()
	b.FromEmail = " Shop@xn--r8jz45g.jp"
	b.BCC = []string{"x@example.com", "y@example.com", "Y@EXAMPLE.com"}
	require.NoError(t, a.Normalize())
	require.NoError(t, b.Normalize())
	require.Equal(t, Fingerprint(a), Fingerprint(b))
}
