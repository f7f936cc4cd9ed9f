package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/dbtest"
)

// TestLowerAddrsKeepsTheElements checks outbox_lower_addrs (migration 023:
// the array's text form lower-cased and read back) against lower-casing
// each element, on the arrays that could tell them apart: quoting,
// escapes, NULL elements and the string "NULL", empty elements and arrays,
// non-ASCII letters and bounds not starting at 1. The recipient index and
// its @> lookups see only the elements.
func TestLowerAddrsKeepsTheElements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	for _, lit := range []string{
		`{}`, `{A@B.COM,x@Y.org}`, `{"\"Quoted, Name\" <Q@X.COM>"}`, `{"a\\B\"c{D}e,F"}`,
		`{NULL,"NULL","Null",X}`, `{ÄÖÜ@É.DE}`, `{" Spaced "}`, `{""}`, `[0:1]={A,B}`,
	} {
		var same, contains bool
		err := pool.QueryRow(ctx, `
			SELECT ARRAY(SELECT unnest(outbox_lower_addrs($1::text[]))) IS NOT DISTINCT FROM
			       ARRAY(SELECT lower(a) FROM unnest($1::text[]) AS a),
			       outbox_lower_addrs($1::text[]) @> ARRAY(SELECT lower(a) FROM unnest($1::text[]) AS a WHERE a IS NOT NULL)`,
			lit).Scan(&same, &contains)
		require.NoError(t, err, lit)
		require.True(t, same, "the elements of %s", lit)
		require.True(t, contains, "@> finds every element of %s", lit)
	}
}
