package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRelayLimitSettings covers the platform relay's limits and a tenant's
// share of them.
func TestRelayLimitSettings(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (*Config, error) {
		env["OUTBOX_DATA_DIR"] = t.TempDir()
		return FromEnv(envOf(env))
	}
	c, err := load(map[string]string{})
	require.NoError(t, err)
	require.Zero(t, c.RelayPerSecond)
	require.Zero(t, c.RelayPerDay)
	require.InDelta(t, 0.5, c.RelayTenantShare, 1e-9)

	c, err = load(map[string]string{"OUTBOX_RELAY_PER_SECOND": "14", "OUTBOX_RELAY_PER_DAY": "50000", "OUTBOX_RELAY_TENANT_SHARE": "0.25"})
	require.NoError(t, err)
	require.Equal(t, 14, c.RelayPerSecond)
	require.Equal(t, 50000, c.RelayPerDay)
	require.InDelta(t, 0.25, c.RelayTenantShare, 1e-9)

	for env, bad := range map[string]map[string]string{
		"OUTBOX_RELAY_PER_SECOND":   {"OUTBOX_RELAY_PER_SECOND": "-1"},
		"OUTBOX_RELAY_PER_DAY":      {"OUTBOX_RELAY_PER_DAY": "-1"},
		"OUTBOX_RELAY_TENANT_SHARE": {"OUTBOX_RELAY_TENANT_SHARE": "0"},
	} {
		_, err := load(bad)
		require.ErrorContains(t, err, env)
	}
	_, err = load(map[string]string{"OUTBOX_RELAY_TENANT_SHARE": "1.5"})
	require.ErrorContains(t, err, "OUTBOX_RELAY_TENANT_SHARE")
	_, err = load(map[string]string{"OUTBOX_RELAY_TENANT_SHARE": "half"})
	require.ErrorContains(t, err, "OUTBOX_RELAY_TENANT_SHARE")
}
