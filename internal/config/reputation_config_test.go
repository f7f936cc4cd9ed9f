package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReputationSettings: the defaults, a window in days or hours, and
// values out of range refused naming the variable.
func TestReputationSettings(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}))
	require.NoError(t, err)
	require.Equal(t, 7*24*time.Hour, c.ReputationWindow)
	require.InDelta(t, 0.05, c.ReputationPauseBounceRate, 1e-12)
	require.InDelta(t, 0.003, c.ReputationPauseComplaintRate, 1e-12)
	require.Equal(t, 200, c.ReputationMinVolume)

	c, err = FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_REPUTATION_WINDOW": "30d",
		"OUTBOX_REPUTATION_PAUSE_BOUNCE_RATE": "0.1", "OUTBOX_REPUTATION_PAUSE_COMPLAINT_RATE": "0.001", "OUTBOX_REPUTATION_MIN_VOLUME": "1000"}))
	require.NoError(t, err)
	require.Equal(t, 30*24*time.Hour, c.ReputationWindow)
	require.InDelta(t, 0.1, c.ReputationPauseBounceRate, 1e-12)
	require.InDelta(t, 0.001, c.ReputationPauseComplaintRate, 1e-12)
	require.Equal(t, 1000, c.ReputationMinVolume)

	c, err = FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_REPUTATION_WINDOW": "36h"}))
	require.NoError(t, err)
	require.Equal(t, 36*time.Hour, c.ReputationWindow)

	for env, v := range map[string]string{
		"OUTBOX_REPUTATION_WINDOW":               "90m",
		"OUTBOX_REPUTATION_PAUSE_BOUNCE_RATE":    "5%",
		"OUTBOX_REPUTATION_PAUSE_COMPLAINT_RATE": "0",
		"OUTBOX_REPUTATION_MIN_VOLUME":           "0",
	} {
		_, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), env: v}))
		require.Error(t, err, "%s=%s", env, v)
		require.True(t, strings.Contains(err.Error(), env), "%v", err)
	}
	_, err = FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_REPUTATION_WINDOW": "7 days"}))
	require.ErrorContains(t, err, "OUTBOX_REPUTATION_WINDOW")
}
