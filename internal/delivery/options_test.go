package delivery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestCheckHeadersAccepts(t *testing.T) {
	t.Parallel()
	got, err := checkHeaders("headers", map[string]any{
		"x-campaign": "spring", "X-Tenant": "東京", "In-Reply-To": "<a@b>", "references": "<a@b> <c@d>",
		"X-Long": strings.Repeat("v", MaxHeaderValueBytes),
	})
	require.NoError(t, err)
	require.Equal(t, "spring", got["x-campaign"], "names are kept as given")
	require.Len(t, got, 5)

	_, err = checkHeaders("inputs[3].headers", map[string]any{"X-Long": strings.Repeat("v", MaxHeaderValueBytes+1)})
	require.Equal(t, "inputs[3].headers", outbox.AsError(err).Field)
	_, err = checkHeaders("headers", map[string]any{"X-Ctl": "a\u0085b"})
	require.Error(t, err, "a C1 control (NEL) is a line break to some clients")
}

func TestCheckSendAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, tc := range []struct {
		name   string
		sendAt *time.Time
		want   *time.Time
		err    bool
	}{
		{"none", nil, nil, false},
		{"in the past: at once", at(-time.Hour), nil, false},
		{"now: at once", at(0), nil, false},
		{"soon", at(time.Second), at(time.Second), false},
		{"30 days", at(MaxSendAhead), at(MaxSendAhead), false},
		{"past 30 days", at(MaxSendAhead + time.Second), nil, true},
	} {
		got, err := checkSendAt("sendAt", tc.sendAt, now)
		if tc.err {
			require.Equal(t, "sendAt", outbox.AsError(err).Field, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
}

func TestCheckMetadataEncodesSorted(t *testing.T) {
	t.Parallel()
	b, err := checkMetadata("metadata", map[string]any{"z": 1, "a": "x", "m": false})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":"x","m":false,"z":1}`, string(b))
	require.Equal(t, `{"a":"x","m":false,"z":1}`, string(b), "keys sorted, so the request hash is stable")
	b, err = checkMetadata("metadata", map[string]any{})
	require.NoError(t, err)
	require.Nil(t, b, "an empty object is none")
}

// TestCheckMetadataKeepsNumbersPlain stores numbers as PostgreSQL writes
// them back, and refuses one whose plain form would be thousands of digits
// (PostgreSQL would store them all, or fail the whole call past ±16,383).
func TestCheckMetadataKeepsNumbersPlain(t *testing.T) {
	t.Parallel()
	b, err := checkMetadata("metadata", map[string]any{"total": json.Number("1.250E+2"), "tiny": json.Number("-0e5")})
	require.NoError(t, err)
	require.Equal(t, `{"tiny":0,"total":125.0}`, string(b))
	for _, n := range []string{"1e-99999999", "1e-17000", "5e1001"} {
		_, err = checkMetadata("inputs[2].metadata", map[string]any{"n": json.Number(n)})
		e := outbox.AsError(err)
		require.Equal(t, outbox.EINVALID, e.Code, n)
		require.Equal(t, "inputs[2].metadata", e.Field, n)
		require.Contains(t, e.Message, "out of range", n)
	}
	_, err = checkMetadata("metadata", map[string]any{"n": json.Number("1e-1000")})
	require.NoError(t, err, "1,002 digits, within the metadata's bound")
	long := "1." + strings.Repeat("5", 1100) + "e-1000" // 1,107 characters given, 2,102 stored
	_, err = checkMetadata("metadata", map[string]any{"n": json.Number(long)})
	require.Equal(t, outbox.EINVALID, outbox.AsError(err).Code, "the bound applies to what is stored")
}
