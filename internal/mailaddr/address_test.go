package mailaddr

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

func TestNormalize(t *testing.T) {
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
			got, err := Normalize("replyTo", tt.in)
			if tt.want == "" {
				requireInvalid(t, err, "replyTo", tt.why)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			again, err := Normalize("replyTo", got)
			require.NoError(t, err, "a normalized address must stay valid")
			require.Equal(t, got, again, "normalizing twice must change nothing")
		})
	}
}

func TestNormalizeErrorShortensHugeInput(t *testing.T) {
	t.Parallel()
	_, err := Normalize("fromEmail", strings.Repeat("x", 10000)+"@example.com")
	requireInvalid(t, err, "fromEmail")
	require.Less(t, len(err.Error()), 300)
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

// FuzzNormalize checks that no input makes Normalize panic, that every
// rejection is an EINVALID error about the field, and that every accepted
// address is a single-line ASCII addr-spec that normalizes to itself.
// The seed corpus is in testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"shop@example.com", "info@例え.jp", "user@bücher.de", "a@b@c.com",
		"Shop <shop@example.com>", "x@example.com\r\nBcc: y@example.com",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize("fromEmail", in)
		if err != nil {
			e := outbox.AsError(err)
			if e == nil || e.Code != outbox.EINVALID || e.Field != "fromEmail" {
				t.Fatalf("Normalize(%q) error = %#v, want an EINVALID error about fromEmail", in, err)
			}
			if out != "" {
				t.Fatalf("Normalize(%q) returned %q with an error", in, out)
			}
			return
		}
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("Normalize(%q) = %q contains CR or LF", in, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] >= 0x7f {
				t.Fatalf("Normalize(%q) = %q contains byte %#x", in, out, out[i])
			}
		}
		if strings.Count(out, "@") != 1 || len(out) > MaxLen {
			t.Fatalf("Normalize(%q) = %q is not one addr-spec of at most %d bytes", in, out, MaxLen)
		}
		again, err := Normalize("fromEmail", out)
		if err != nil || again != out {
			t.Fatalf("Normalize(%q) = %q, but normalizing that gives %q, %v", in, out, again, err)
		}
	})
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		name, addr string // the parsed mailbox; addr "" means rejected
		why        string // a part of the rejection message
	}{
		{in: "buyer@example.net", addr: "buyer@example.net"},
		{in: "<buyer@example.net>", addr: "buyer@example.net"},
		{in: "株式会社テスト <jp@example.jp>", name: "株式会社テスト", addr: "jp@example.jp"},
		{in: `"Shop [Tokyo]; Inc." <cc@example.org>`, name: "Shop [Tokyo]; Inc.", addr: "cc@example.org"},
		{in: "info@例え.jp", addr: "info@xn--r8jz45g.jp"},
		{in: "Info <info@BÜCHER.de>", name: "Info", addr: "info@xn--bcher-kva.de"},
		// The wire rule takes what the input rule (Normalize) refuses, such
		// as the single-label domain an operator's configuration may carry.
		{in: "notifications@mailhost", addr: "notifications@mailhost"},

		{in: "", why: "an address is empty"},
		{in: "  ", why: "an address is empty"},
		{in: "a@example.com\r\nBcc: x@example.org", why: "line breaks or control characters"},
		{in: "a@example.com\n", why: "line breaks or control characters"},
		{in: "a\u0085@example.com", why: "line breaks or control characters"},
		{in: "a\xff@example.com", why: "UTF-8"},
		{in: "not an address", why: "not a valid email address"},
		{in: "shop", why: "not a valid email address"},
		{in: "a@example.com, b@example.com", why: "not a valid email address"},
		{in: "a@exa_mple.com", why: "invalid domain"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse("to", tt.in)
			if tt.addr == "" {
				requireInvalid(t, err, "to", tt.why)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.name, got.Name)
			require.Equal(t, tt.addr, got.Address)
		})
	}
}

func TestParseAcceptsWhatNormalizeReturns(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"shop@example.com", "Shop.Owner+orders@Example.COM", "info@例え.jp", "a!#$%&'*+-/=?^_`{|}~z@example.com"} {
		norm, err := Normalize("to", in)
		require.NoError(t, err)
		got, err := Parse("to", norm)
		require.NoError(t, err, "the transport must carry every address the input rule accepts")
		require.Equal(t, norm, got.Address)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, email, want string }{
		{"", "shop@example.com", "shop@example.com"},
		{"Acme Shop", "shop@example.com", `"Acme Shop" <shop@example.com>`},
		{`Say "hi" \ bye`, "a@example.com", `"Say \"hi\" \\ bye" <a@example.com>`},
		{"株式会社テスト", "info@example.jp", `"株式会社テスト" <info@example.jp>`},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Format(tt.name, tt.email))
	}
}
