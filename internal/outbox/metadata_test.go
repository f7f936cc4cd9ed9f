package outbox_test

import (
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestMetadataValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   any
		want any
		ok   bool
	}{
		{"x", "x", true},
		{true, true, true},
		{json.Number("12.50"), json.Number("12.50"), true},
		{json.Number("1e3"), json.Number("1000"), true},
		{json.Number("1.50E-1"), json.Number("0.150"), true},
		{json.Number("-0.0"), json.Number("0.0"), true},
		{1e21, json.Number("1000000000000000000000"), true},
		{json.Number("1e1001"), nil, false},
		{json.Number("01"), nil, false},
		{json.Number(".5"), nil, false},
		{json.Number("1."), nil, false},
		{json.Number("1e+-2"), nil, false},
		{json.Number("0x10"), nil, false},
		{json.Number("1_000"), nil, false},
		{int64(42), json.Number("42"), true},
		{3, json.Number("3"), true},
		{2.5, json.Number("2.5"), true},
		{math.Inf(1), nil, false},
		{json.Number("abc"), nil, false},
		{nil, nil, false},
		{map[string]any{}, nil, false},
		{[]any{"a"}, nil, false},
	} {
		got, ok := outbox.MetadataValue(tc.in)
		require.Equal(t, tc.ok, ok, "%#v", tc.in)
		require.Equal(t, tc.want, got, "%#v", tc.in)
	}
}

func TestSameMetadataValue(t *testing.T) {
	t.Parallel()
	require.True(t, outbox.SameMetadataValue(json.Number("1"), json.Number("1.0")))
	require.True(t, outbox.SameMetadataValue(json.Number("1e3"), json.Number("1000")))
	require.False(t, outbox.SameMetadataValue(json.Number("1"), "1"), "a string is not a number")
	require.False(t, outbox.SameMetadataValue(true, "true"))
	require.True(t, outbox.SameMetadataValue("a", "a"))
	require.False(t, outbox.SameMetadataValue(json.Number("1"), json.Number("2")))
}

// FuzzMetadataNumber: a number metadata keeps is plain decimal digits of the
// same value as the one given, and every JSON number that is finite as a
// float64 is kept unless its exponent is beyond the bound.
func FuzzMetadataNumber(f *testing.F) {
	for _, s := range []string{"0", "-0.0", "1.50e1", "1E+2", "12e-5", "9.99e300", "1e-1000", "1e1001", "01", "1.", "-", "1e", "0x1p3"} {
		f.Add(s)
	}
	plain := regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	jsonNumber := regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE]([+-]?[0-9]+))?$`)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return
		}
		v, ok := outbox.MetadataValue(json.Number(s))
		m := jsonNumber.FindStringSubmatch(s)
		_, floatErr := strconv.ParseFloat(s, 64)
		if !ok {
			if m != nil && floatErr == nil {
				exp, err := strconv.Atoi(m[4])
				if err == nil && exp >= -outbox.MaxMetadataExponent && exp <= outbox.MaxMetadataExponent {
					t.Fatalf("%q refused", s)
				}
			}
			return
		}
		if m == nil {
			t.Fatalf("%q is not a JSON number but was kept", s)
		}
		got := string(v.(json.Number))
		if !plain.MatchString(got) {
			t.Fatalf("%q kept as %q, not plain", s, got)
		}
		want, _ := new(big.Rat).SetString(s)
		have, _ := new(big.Rat).SetString(got)
		if want == nil || have == nil || want.Cmp(have) != 0 {
			t.Fatalf("%q kept as %q, another value", s, got)
		}
		if got[0] == '-' && have.Sign() == 0 {
			t.Fatalf("%q kept as %q, a signed zero", s, got)
		}
	})
}
