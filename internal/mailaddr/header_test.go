package mailaddr

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

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

func TestCheckHeaderText(t *testing.T) {
	t.Parallel()
	// Looser than CheckDisplayName on purpose: U+2028 and length are the
	// input rules' business, tab-free Unicode of any length is fine here.
	for _, ok := range []string{"", "ご注文ありがとうございます [#1001]", `Shop [Tokyo]; "Best" <deals>`, "a\u2028b", "a\u00a0b", strings.Repeat("店", 1000)} {
		require.NoError(t, CheckHeaderText("subject", ok), "%q", ok)
	}
	for _, bad := range []string{"a\rb", "a\nb", "Hi\r\nBcc: x@example.org", "a\x00b", "a\tb", "a\x7fb", "a\u0085b", "a\xffb"} {
		requireInvalid(t, CheckHeaderText("subject", bad), "subject")
	}
}

func TestIsFieldName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"X-Campaign": true, "In-Reply-To": true, "x!#$%&'*+-.^_`|~": true,
		"": false, "X Campaign": false, "X-Campaign:": false, "X-Cämpaign": false, "X-\tTab": false, "X-\x7f": false,
	} {
		require.Equal(t, want, IsFieldName(name), "%q", name)
	}
}
