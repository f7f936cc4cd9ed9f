package sender

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestPresetsAreWellFormed(t *testing.T) {
	t.Parallel()
	presets := Presets()
	require.NotEmpty(t, presets)
	require.Equal(t, PresetCustom, presets[len(presets)-1].Key, "custom comes last in the form")

	seen := map[string]bool{}
	for _, p := range presets {
		require.NotEmpty(t, p.Key)
		require.False(t, seen[p.Key], "duplicate key %q", p.Key)
		seen[p.Key] = true
		require.NotEmpty(t, p.Name, p.Key)
		require.NotEmpty(t, p.Note, p.Key)
		require.NoError(t, CheckPort("port", p.Port), p.Key)
		require.NoError(t, CheckSecurityForPort(p.Port, p.Security), p.Key)
		require.Contains(t, []outbox.SMTPSecurity{outbox.SecurityImplicitTLS, outbox.SecurityStartTLS}, p.Security,
			"%s: no provider preset sends passwords in the clear", p.Key)
		require.NotEqual(t, outbox.AuthNone, p.Auth, p.Key)
		if p.Key == PresetCustom {
			require.Empty(t, p.Host)
			require.Empty(t, p.HostPattern)
			require.Zero(t, p.Limits)
			continue
		}
		require.True(t, (p.Host == "") != (p.HostPattern == ""), "%s: exactly one of Host and HostPattern", p.Key)
		if p.Host != "" {
			got, err := normalizeHost("host", p.Host)
			require.NoError(t, err, p.Key)
			require.Equal(t, p.Host, got, "%s: host must be in normalized form", p.Key)
		}
		for _, f := range limitFields(&p.Limits) {
			require.GreaterOrEqual(t, *f.value, 0, "%s %s", p.Key, f.name)
		}
	}
	for _, key := range []string{
		"gmail", "google_workspace", "microsoft365", "yahoo", "amazon_ses", "sendgrid", "mailgun",
		"postmark", "sakura", "xserver", "lolipop", "muumuu", "onamae", PresetCustom,
	} {
		require.True(t, seen[key], "preset %q is one the README lists", key)
	}
}

func TestPresetsOrderIsStableAndCallerOwned(t *testing.T) {
	t.Parallel()
	a := Presets()
	a[0].Host = "changed.example.com"
	b := Presets()
	require.NotEqual(t, "changed.example.com", b[0].Host)
	keys := func(ps []Preset) []string {
		var k []string
		for _, p := range ps {
			k = append(k, p.Key)
		}
		return k
	}
	require.Equal(t, keys(b), keys(Presets()))
}

func TestPresetValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key         string
		host        string
		hostPattern string
		port        int
		security    outbox.SMTPSecurity
		auth        outbox.SMTPAuth
		limits      Limits
		username    string
	}{
		{key: "gmail", host: "smtp.gmail.com", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthXOAuth2,
			limits: Limits{PerDay: 500, RecipientsPerMessage: 100}},
		{key: "google_workspace", host: "smtp.gmail.com", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthXOAuth2,
			limits: Limits{PerDay: 2000, RecipientsPerDay: 10000, RecipientsPerMessage: 100}},
		{key: "microsoft365", host: "smtp.office365.com", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthXOAuth2,
			limits: Limits{PerMinute: 30, RecipientsPerDay: 10000, RecipientsPerMessage: 500}},
		{key: "yahoo", host: "smtp.mail.yahoo.com", port: 465, security: outbox.SecurityImplicitTLS, auth: outbox.AuthPlain,
			limits: Limits{PerDay: 500, RecipientsPerMessage: 100}},
		{key: "amazon_ses", hostPattern: "email-smtp.<region>.amazonaws.com", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain,
			limits: Limits{PerSecond: 14, PerDay: 50000}},
		{key: "sendgrid", host: "smtp.sendgrid.net", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain, username: "apikey"},
		{key: "mailgun", host: "smtp.mailgun.org", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain,
			limits: Limits{RecipientsPerMessage: 1000}},
		{key: "postmark", host: "smtp.postmarkapp.com", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain,
			limits: Limits{RecipientsPerMessage: 50}},
		{key: "sakura", hostPattern: "<account>.sakura.ne.jp", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain},
		{key: "xserver", hostPattern: "sv****.xserver.jp", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain},
		{key: "lolipop", host: "smtp.lolipop.jp", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain},
		{key: "muumuu", host: "smtp.muumuu-mail.com", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain},
		{key: "onamae", hostPattern: "mail*.onamae.ne.jp", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain},
		{key: "custom", port: 587, security: outbox.SecurityStartTLS, auth: outbox.AuthPlain},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			p, ok := PresetByKey(tt.key)
			require.True(t, ok)
			require.Equal(t, tt.key, p.Key)
			require.Equal(t, tt.host, p.Host)
			require.Equal(t, tt.hostPattern, p.HostPattern)
			require.Equal(t, tt.port, p.Port)
			require.Equal(t, tt.security, p.Security)
			require.Equal(t, tt.auth, p.Auth)
			require.Equal(t, tt.limits, p.Limits)
			require.Equal(t, tt.username, p.Username)
			require.Equal(t, tt.key == "amazon_ses", p.LimitsConfigurable, "only SES quotas vary per account")
		})
	}
}

func TestPresetByKey(t *testing.T) {
	t.Parallel()
	p, ok := PresetByKey("CUSTOM")
	require.True(t, ok, "the contract spells it CUSTOM")
	require.Equal(t, PresetCustom, p.Key)

	p, ok = PresetByKey("Gmail")
	require.True(t, ok)
	require.Equal(t, "gmail", p.Key)

	for _, missing := range []string{"", "aol", "gmail ", "g"} {
		p, ok := PresetByKey(missing)
		require.False(t, ok, missing)
		require.Zero(t, p)
	}
}

func TestEffectiveLimits(t *testing.T) {
	t.Parallel()
	gmail, _ := PresetByKey("gmail")
	m365, _ := PresetByKey("microsoft365")
	ses, _ := PresetByKey("amazon_ses")
	custom, _ := PresetByKey("custom")
	tests := []struct {
		name      string
		preset    Preset
		requested Limits
		want      Limits
		field     string // of the expected error
		message   string
	}{
		{name: "nothing requested takes the preset's", preset: gmail,
			want: Limits{PerDay: 500, RecipientsPerMessage: 100}},
		{name: "lower is allowed", preset: gmail, requested: Limits{PerDay: 200},
			want: Limits{PerDay: 200, RecipientsPerMessage: 100}},
		{name: "equal is allowed", preset: gmail, requested: Limits{PerDay: 500, RecipientsPerMessage: 100},
			want: Limits{PerDay: 500, RecipientsPerMessage: 100}},
		{name: "a limit the preset lacks may be added", preset: gmail, requested: Limits{PerMinute: 5},
			want: Limits{PerMinute: 5, PerDay: 500, RecipientsPerMessage: 100}},
		{name: "higher is refused", preset: gmail, requested: Limits{PerDay: 501},
			field: "smtp.limits.perDay", message: "must be at most 500 for Gmail"},
		{name: "higher recipients per message is refused", preset: m365, requested: Limits{RecipientsPerMessage: 501},
			field: "smtp.limits.recipientsPerMessage", message: "must be at most 500 for Microsoft 365"},
		{name: "per minute is refused", preset: m365, requested: Limits{PerMinute: 31},
			field: "smtp.limits.perMinute", message: "at most 30"},
		{name: "negative is refused", preset: gmail, requested: Limits{PerHour: -1},
			field: "smtp.limits.perHour", message: "negative"},
		{name: "ses defaults", preset: ses,
			want: Limits{PerSecond: 14, PerDay: 50000}},
		{name: "ses may go higher", preset: ses, requested: Limits{PerSecond: 500, PerDay: 2000000},
			want: Limits{PerSecond: 500, PerDay: 2000000}},
		{name: "ses may go lower", preset: ses, requested: Limits{PerSecond: 1, PerDay: 200},
			want: Limits{PerSecond: 1, PerDay: 200}},
		{name: "ses negative is still refused", preset: ses, requested: Limits{PerDay: -1},
			field: "smtp.limits.perDay", message: "negative"},
		{name: "custom has no ceiling", preset: custom, requested: Limits{PerSecond: 1000, RecipientsPerDay: 1 << 30},
			want: Limits{PerSecond: 1000, RecipientsPerDay: 1 << 30}},
		{name: "custom without limits", preset: custom, want: Limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := tt.preset
			got, err := EffectiveLimits(tt.preset, tt.requested)
			require.Equal(t, before, tt.preset)
			if tt.field != "" {
				requireInvalid(t, err, tt.field, tt.message)
				require.Zero(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestEffectiveLimitsDoesNotAliasPresets(t *testing.T) {
	t.Parallel()
	gmail, _ := PresetByKey("gmail")
	_, err := EffectiveLimits(gmail, Limits{PerDay: 10})
	require.NoError(t, err)
	again, _ := PresetByKey("gmail")
	require.Equal(t, 500, again.Limits.PerDay)
}

// TestPresetsOfferOAuthFirst: the providers whose users sign in with OAuth
// offer it as the preset's login, name the OAuth provider, and say how
// passwords fare (Microsoft retires basic auth).
func TestPresetsOfferOAuthFirst(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]outbox.OAuthProvider{"gmail": outbox.OAuthGoogle, "google_workspace": outbox.OAuthGoogle, "microsoft365": outbox.OAuthMicrosoft} {
		p, ok := PresetByKey(key)
		require.True(t, ok)
		require.Equal(t, want, p.OAuthProvider, key)
		require.Equal(t, outbox.AuthXOAuth2, p.Auth, key)
		require.Contains(t, p.Note, "Connect with", key)
	}
	m365, _ := PresetByKey("microsoft365")
	require.Contains(t, m365.Note, "December 2026")
	yahoo, _ := PresetByKey("yahoo")
	require.Empty(t, yahoo.OAuthProvider)
}
