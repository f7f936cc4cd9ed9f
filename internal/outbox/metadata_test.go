package outbox_test

import (
	"encoding/json"
	"math"
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
