package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestThroughputSettings covers the settings that size a process for
// delivery throughput: River's fetch pacing and the database pool.
func TestThroughputSettings(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (*Config, error) {
		env["OUTBOX_DATA_DIR"] = t.TempDir()
		return FromEnv(envOf(env))
	}
	c, err := load(map[string]string{})
	require.NoError(t, err)
	require.Equal(t, 5*time.Millisecond, c.FetchCooldown)
	require.Equal(t, time.Second, c.FetchPollInterval)
	require.Equal(t, 100, c.Workers)
	require.Equal(t, 25, c.DBConns(), "a quarter of the 100 workers")

	c, err = load(map[string]string{"OUTBOX_WORKERS": "30"})
	require.NoError(t, err)
	require.Equal(t, 10, c.DBConns(), "at least 10")
	c, err = load(map[string]string{"OUTBOX_ROLE": "api"})
	require.NoError(t, err)
	require.Equal(t, 20, c.DBConns(), "an API process runs no workers")
	c, err = load(map[string]string{"OUTBOX_DB_MAX_CONNS": "7", "OUTBOX_FETCH_COOLDOWN": "20ms", "OUTBOX_FETCH_POLL_INTERVAL": "2s"})
	require.NoError(t, err)
	require.Equal(t, 7, c.DBConns())
	require.Equal(t, 20*time.Millisecond, c.FetchCooldown)
	require.Equal(t, 2*time.Second, c.FetchPollInterval)

	for env, bad := range map[string]map[string]string{
		"OUTBOX_FETCH_COOLDOWN":      {"OUTBOX_FETCH_COOLDOWN": "0s"},
		"OUTBOX_FETCH_POLL_INTERVAL": {"OUTBOX_FETCH_COOLDOWN": "2s", "OUTBOX_FETCH_POLL_INTERVAL": "1s"},
		"OUTBOX_DB_MAX_CONNS":        {"OUTBOX_DB_MAX_CONNS": "-1"},
	} {
		_, err := load(bad)
		require.ErrorContains(t, err, env)
	}
}
