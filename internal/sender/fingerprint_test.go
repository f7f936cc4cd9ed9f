package sender

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// testRing is a fixed keyring for fingerprints; k1 is its only key.
var testRing = mustParseKeyring("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")

func mustParseKeyring(spec string) *secret.Keyring {
	k, err := secret.ParseKeyring(spec)
	if err != nil {
		panic(err)
	}
	return k
}

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
	fp := Fingerprint(testRing, fullSettings())
	require.Regexp(t, regexp.MustCompile(`^k1:[0-9a-f]{64}$`), fp)
	require.Equal(t, fp, Fingerprint(testRing, fullSettings()), "equal settings give equal fingerprints")
	require.Equal(t, fp, Fingerprint(testRing, clone(fullSettings())))
	require.Equal(t, Fingerprint(testRing, Settings{}), Fingerprint(testRing, Settings{}))
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
		{"smtp.oauthConnection", func(s *Settings) { s.SMTP.OAuthConnection = "0b6f5e2c-8d61-4d1e-9a44-7b3f2f1c0a11" }},
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
	base := Fingerprint(testRing, fullSettings())
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		s := fullSettings()
		tt.mutate(&s)
		fp := Fingerprint(testRing, s)
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
	baseFP := Fingerprint(testRing, base)
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
		require.NotEqual(t, baseFP, Fingerprint(testRing, s), "Fingerprint ignores %s", p.name)
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
	require.Equal(t, Fingerprint(testRing, a), Fingerprint(testRing, b))
}

// TestFingerprintIsKeyBound: the fingerprint covers the password, so in a
// database dump it must not be an offline oracle for guessing it: it is an
// HMAC under a key from the keyring, named in the fingerprint so that it
// still verifies after a rotation.
func TestFingerprintIsKeyBound(t *testing.T) {
	t.Parallel()
	s := fullSettings()
	fp := Fingerprint(testRing, s)

	mac, err := testRing.NewMAC("k1", fingerprintVersion)
	require.NoError(t, err)
	writeFingerprint(&fingerprinter{h: mac}, s)
	require.Equal(t, "k1:"+hex.EncodeToString(mac.Sum(nil)), fp, "an HMAC under the keyring's current key")

	plain := fingerprinter{h: sha256.New()}
	plain.str("outbox/sender-settings/v1")
	writeFingerprint(&plain, s)
	require.NotContains(t, fp, hex.EncodeToString(plain.h.Sum(nil)), "not the plain SHA-256 of the settings")
	plain = fingerprinter{h: sha256.New()}
	writeFingerprint(&plain, s)
	require.NotContains(t, fp, hex.EncodeToString(plain.h.Sum(nil)))

	other := mustParseKeyring("k1:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4")
	require.NotEqual(t, fp, Fingerprint(other, s), "another key with the same id, another fingerprint")
	require.False(t, FingerprintMatches(other, s, fp))

	require.True(t, FingerprintMatches(testRing, s, fp))
	changed := fullSettings()
	changed.SMTP.Password += "x"
	require.False(t, FingerprintMatches(testRing, changed, fp))
	for _, bad := range []string{"", "k1:", "k1:00", fp[3:], "k9" + fp[2:], strings.ToUpper(fp)} {
		require.False(t, FingerprintMatches(testRing, s, bad), "%q", bad)
	}

	// After a rotation (k2 current, k1 kept), a fingerprint taken under k1
	// still matches; new ones are taken under k2.
	rotated := mustParseKeyring("k2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4,k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	require.True(t, FingerprintMatches(rotated, s, fp))
	require.True(t, strings.HasPrefix(Fingerprint(rotated, s), "k2:"))
	require.True(t, FingerprintMatches(rotated, s, Fingerprint(rotated, s)))
	// Once k1 is retired, it no longer does (the secret could not be opened either).
	retired := mustParseKeyring("k2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4")
	require.False(t, FingerprintMatches(retired, s, fp))
}
