package dbtest

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func TestConfigFromURLRoundTrips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in          string
		wantOptions string
	}{
		{in: "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable", wantOptions: "sslmode=disable"},
		{in: "postgres://u%40x:p%3Aw%2Fd%40@db.example:5432/base?sslmode=require&application_name=t", wantOptions: "application_name=t&sslmode=require"},
		{in: "postgres://postgres@/postgres?host=/var/run/postgresql&port=5432&sslmode=disable", wantOptions: "sslmode=disable"},
		{in: "postgres://postgres@[::1]:5432/postgres?sslmode=disable", wantOptions: "sslmode=disable"},
		{in: "host=/tmp port=5499 user=me password='a b' dbname=base sslmode=disable", wantOptions: "sslmode=disable"},
	}
	for _, tt := range tests {
		want, err := pgx.ParseConfig(tt.in)
		require.NoError(t, err)
		conf, err := configFromURL(tt.in)
		require.NoError(t, err)
		require.Equal(t, tt.wantOptions, conf.Options, tt.in)

		got, err := pgx.ParseConfig(conf.URL())
		require.NoError(t, err, conf.URL())
		require.Equal(t, want.Host, got.Host, tt.in)
		require.Equal(t, want.Port, got.Port, tt.in)
		require.Equal(t, want.User, got.User, tt.in)
		require.Equal(t, want.Password, got.Password, tt.in)
		require.Equal(t, want.Database, got.Database, tt.in)
	}
}

// Not parallel: it briefly pretends Main is not running, which parallel
// tests, paused until the sequential ones end, cannot observe.
func TestURLNeedsMainOrAServer(t *testing.T) {
	t.Setenv(EnvURL, "")
	throwaway.mu.Lock()
	throwaway.main = false
	throwaway.mu.Unlock()
	t.Cleanup(func() {
		throwaway.mu.Lock()
		throwaway.main = true
		throwaway.mu.Unlock()
	})

	_, err := baseConfig()
	require.ErrorContains(t, err, "set TEST_DATABASE_URL, or make the package's TestMain call dbtest.Main(m)")
}
