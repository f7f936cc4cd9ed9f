package db_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

// TestMetadataNumbersArePostgresOwn writes numbers as metadata keeps them
// (outbox.MetadataValue) and has PostgreSQL read each as jsonb and write it
// back: the text must not change, so a message answered from memory and
// read back later shows the same metadata. Hand-picked edges and random
// JSON numbers (signs, leading and trailing zeros, exponents of either
// case and sign).
func TestMetadataNumbersArePostgresOwn(t *testing.T) {
	t.Parallel()
	in := []string{"0", "-0", "-0.000", "0e5", "0.0e-3", "1", "10", "1.0", "1.50", "1e3", "1E+3", "1.50e1", "1.5e-3",
		"12e-5", "123.456e2", "123.456e-2", "0.001e3", "9.99e300", "1e-1000", "-4.2E1", "5e0", "5.000e-0"}
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	for range 2000 {
		s := ""
		if rng.IntN(2) == 0 {
			s = "-"
		}
		if rng.IntN(4) == 0 {
			s += "0"
		} else {
			s += string(byte('1'+rng.IntN(9))) + digits(rng.IntN(6))
		}
		if rng.IntN(2) == 0 {
			s += "." + digits(1+rng.IntN(6))
		}
		if rng.IntN(2) == 0 {
			s += []string{"e", "E"}[rng.IntN(2)] + []string{"", "+", "-"}[rng.IntN(3)] + fmt.Sprint(rng.IntN(25))
		}
		in = append(in, s)
	}
	plain := make([]string, len(in))
	for i, s := range in {
		v, ok := outbox.MetadataValue(json.Number(s))
		require.True(t, ok, s)
		plain[i] = string(v.(json.Number))
	}
	var back []string
	require.NoError(t, dbtest.Pool(t).QueryRow(context.Background(),
		`SELECT array_agg((n::jsonb)::text ORDER BY i) FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i)`, plain).Scan(&back))
	for i := range in {
		require.Equal(t, plain[i], back[i], "%s given, kept as %s", in[i], plain[i])
	}
	// And the plain form is the value given.
	var same bool
	require.NoError(t, dbtest.Pool(t).QueryRow(context.Background(),
		`SELECT bool_and(g::numeric = p::numeric) FROM unnest($1::text[], $2::text[]) AS u(g, p)`, in, plain).Scan(&same))
	require.True(t, same)
}
