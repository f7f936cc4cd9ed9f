package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecoverySettings covers the settings of crash recovery and outages:
// the relay's connections, the outcome retry, the stuck-job rescue and the
// circuit of an unreachable account.
func TestRecoverySettings(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) (*Config, error) {
		env["OUTBOX_DATA_DIR"] = t.TempDir()
		return FromEnv(envOf(env))
	}
	c, err := load(map[string]string{})
	require.NoError(t, err)
	require.Equal(t, 8, c.RelayConns)
	require.Equal(t, 2*time.Minute, c.DeliveryOutcomeRetry)
	require.Zero(t, c.DeliveryRescueAfter, "derived from the delivery timeouts")
	require.Equal(t, 5*time.Second, c.DeliveryCircuitBase)
	require.Equal(t, 5*time.Minute, c.DeliveryCircuitMax)

	c, err = load(map[string]string{"OUTBOX_RELAY_CONNS": "32", "OUTBOX_DELIVERY_RESCUE_AFTER": "10m"})
	require.NoError(t, err)
	require.Equal(t, 32, c.RelayConns)
	require.Equal(t, 10*time.Minute, c.DeliveryRescueAfter)

	for env, bad := range map[string]map[string]string{
		"OUTBOX_RELAY_CONNS":            {"OUTBOX_RELAY_CONNS": "0"},
		"OUTBOX_DELIVERY_OUTCOME_RETRY": {"OUTBOX_DELIVERY_OUTCOME_RETRY": "0s"},
		"OUTBOX_DELIVERY_RESCUE_AFTER":  {"OUTBOX_DELIVERY_RESCUE_AFTER": "10s"},
		"OUTBOX_DELIVERY_CIRCUIT_MAX":   {"OUTBOX_DELIVERY_CIRCUIT_BASE": "1m", "OUTBOX_DELIVERY_CIRCUIT_MAX": "30s"},
	} {
		_, err := load(bad)
		require.ErrorContains(t, err, env)
	}
}
