package db

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// TestRegisterUUIDEncodesBinary checks that UUIDs go out as the 16 bytes
// of the binary format, the same bytes as without the registration, and
// without the detour through text (a failed encoding, an error message,
// a parse) that pgx takes on its own.
//
// Not parallel: testing.AllocsPerRun refuses parallel tests.
func TestRegisterUUIDEncodesBinary(t *testing.T) {
	id := uuid.New()
	plain := pgtype.NewMap()
	m := pgtype.NewMap()
	registerUUID(m)
	buf := make([]byte, 0, 64)
	encode := func(m *pgtype.Map) func() {
		return func() {
			if _, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	require.Greater(t, testing.AllocsPerRun(100, encode(plain)), 5.0, "pgx alone goes through driver.Valuer and text")
	require.LessOrEqual(t, testing.AllocsPerRun(100, encode(m)), 2.0)
	want, err := plain.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, nil)
	require.NoError(t, err)
	require.Equal(t, id[:], want)

	for _, tc := range []struct {
		name  string
		value any
		want  []byte
	}{
		{"uuid", id, id[:]},
		{"valid NullUUID", uuid.NullUUID{UUID: id, Valid: true}, id[:]},
		{"NULL NullUUID", uuid.NullUUID{}, nil},
	} {
		got, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, tc.value, nil)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	got, err := m.Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, []uuid.UUID{id, id}, nil)
	require.NoError(t, err, "arrays of UUIDs too")
	require.Contains(t, string(got), string(id[:]))
	text, err := m.Encode(pgtype.UUIDOID, pgtype.TextFormatCode, id, nil)
	require.NoError(t, err)
	require.Equal(t, id.String(), string(text))
}
