package config

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

// TestPlans: the default plan comes from OUTBOX_DEFAULT_MODES,
// OUTBOX_DEFAULT_MAX_SENDERS and OUTBOX_DEFAULT_DAILY_QUOTA, PLATFORM
// always among its modes, modes in any case and without repeats.
func TestPlans(t *testing.T) {
	t.Parallel()
	quota := func(n int) *int { return &n }
	cases := []struct {
		name string
		env  map[string]string
		want outbox.Entitlements
	}{
		{"defaults", map[string]string{}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}, MaxSenders: 10,
		}},
		{"platform added", map[string]string{"OUTBOX_DEFAULT_MODES": "BRANDED"}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded}, MaxSenders: 10,
		}},
		{"platform only", map[string]string{"OUTBOX_DEFAULT_MODES": "PLATFORM", "OUTBOX_DEFAULT_MAX_SENDERS": "1"}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform}, MaxSenders: 1,
		}},
		{"empty", map[string]string{"OUTBOX_DEFAULT_MODES": " , "}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform}, MaxSenders: 10,
		}},
		{"any case, spaces, repeats", map[string]string{"OUTBOX_DEFAULT_MODES": " smtp, Branded ,SMTP,platform"}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeSMTP, outbox.ModeBranded}, MaxSenders: 10,
		}},
		{"quota", map[string]string{"OUTBOX_DEFAULT_DAILY_QUOTA": "500", "OUTBOX_DEFAULT_MAX_SENDERS": "10000"}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}, MaxSenders: 10000, DailyQuota: quota(500),
		}},
		{"quota of none", map[string]string{"OUTBOX_DEFAULT_DAILY_QUOTA": "0"}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}, MaxSenders: 10, DailyQuota: quota(0),
		}},
		{"-1 is no quota", map[string]string{"OUTBOX_DEFAULT_DAILY_QUOTA": "-1"}, outbox.Entitlements{
			Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}, MaxSenders: 10,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.env["OUTBOX_DATA_DIR"] = t.TempDir()
			c, err := FromEnv(envOf(tc.env))
			require.NoError(t, err)
			require.Equal(t, tc.want, c.Plans())
		})
	}

	// The flags set the same.
	c, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}))
	require.NoError(t, err)
	c.DefaultModes, c.DefaultDailyQuota = "http", 7
	require.Equal(t, outbox.Entitlements{Modes: []outbox.SenderMode{outbox.ModePlatform, outbox.ModeHTTP}, MaxSenders: 10, DailyQuota: quota(7)}, c.Plans())
}

// TestPlansValidation refuses an unknown mode and out-of-range numbers,
// naming the variable.
func TestPlansValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"OUTBOX_DEFAULT_MODES": "PLATFORM,SES"}, []string{"OUTBOX_DEFAULT_MODES", `"SES"`}},
		{map[string]string{"OUTBOX_DEFAULT_MODES": "smtp;http"}, []string{"OUTBOX_DEFAULT_MODES"}},
		{map[string]string{"OUTBOX_DEFAULT_MAX_SENDERS": "0"}, []string{"OUTBOX_DEFAULT_MAX_SENDERS"}},
		{map[string]string{"OUTBOX_DEFAULT_MAX_SENDERS": "10001"}, []string{"OUTBOX_DEFAULT_MAX_SENDERS"}},
		{map[string]string{"OUTBOX_DEFAULT_MAX_SENDERS": "ten"}, []string{"OUTBOX_DEFAULT_MAX_SENDERS"}},
		{map[string]string{"OUTBOX_DEFAULT_DAILY_QUOTA": "-2"}, []string{"OUTBOX_DEFAULT_DAILY_QUOTA"}},
		{map[string]string{"OUTBOX_DEFAULT_DAILY_QUOTA": "lots"}, []string{"OUTBOX_DEFAULT_DAILY_QUOTA"}},
		// The count is a 32-bit column: a larger quota would wrap around
		// and refuse every message. Operators may set at most 100000000.
		{map[string]string{"OUTBOX_DEFAULT_DAILY_QUOTA": "100000001"}, []string{"OUTBOX_DEFAULT_DAILY_QUOTA"}},
		{map[string]string{"OUTBOX_DEFAULT_DAILY_QUOTA": "3000000000"}, []string{"OUTBOX_DEFAULT_DAILY_QUOTA"}},
	}
	for _, tc := range cases {
		env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
		for k, v := range tc.env {
			env[k] = v
		}
		_, err := FromEnv(envOf(env))
		require.Error(t, err, tc.env)
		for _, w := range tc.want {
			require.Contains(t, err.Error(), w, tc.env)
		}
	}
	c, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_DEFAULT_DAILY_QUOTA": "100000000"}))
	require.NoError(t, err, "the largest quota an operator may set")
	require.Equal(t, 100000000, *c.Plans().DailyQuota)
}
