package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOAuthDefaults(t *testing.T) {
	t.Parallel()
	c, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}))
	require.NoError(t, err)
	require.False(t, c.OAuthGoogle.Enabled())
	require.False(t, c.OAuthMicrosoft.Enabled())
	require.Equal(t, "https://accounts.google.com", c.OAuthGoogle.Issuer)
	require.Equal(t, []string{"openid", "email", "https://mail.google.com/"}, c.OAuthGoogle.ScopeList())
	require.Equal(t, "https://login.microsoftonline.com/common/v2.0", c.OAuthMicrosoft.Issuer)
	require.Equal(t, []string{"openid", "email", "offline_access", "https://outlook.office.com/SMTP.Send"}, c.OAuthMicrosoft.ScopeList())

	c, err = FromEnv(envOf(map[string]string{
		"OUTBOX_DATA_DIR":                  t.TempDir(),
		"OUTBOX_OAUTH_MICROSOFT_CLIENT_ID": "app", "OUTBOX_OAUTH_MICROSOFT_CLIENT_SECRET": "s",
		"OUTBOX_OAUTH_MICROSOFT_ISSUER": "https://login.microsoftonline.com/contoso.example/v2.0",
		"OUTBOX_OAUTH_MICROSOFT_SCOPES": "openid,email offline_access",
	}))
	require.NoError(t, err)
	require.True(t, c.OAuthMicrosoft.Enabled())
	require.Equal(t, []string{"openid", "email", "offline_access"}, c.OAuthMicrosoft.ScopeList())
}

func TestOAuthValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"id without secret", map[string]string{"OUTBOX_OAUTH_GOOGLE_CLIENT_ID": "app"}, "OUTBOX_OAUTH_GOOGLE_CLIENT_SECRET"},
		{"secret without id", map[string]string{"OUTBOX_OAUTH_MICROSOFT_CLIENT_SECRET": "s"}, "OUTBOX_OAUTH_MICROSOFT_CLIENT_SECRET"},
		{"plain http issuer", map[string]string{"OUTBOX_OAUTH_GOOGLE_CLIENT_ID": "app", "OUTBOX_OAUTH_GOOGLE_CLIENT_SECRET": "s",
			"OUTBOX_OAUTH_GOOGLE_ISSUER": "http://accounts.example.com"}, "OUTBOX_OAUTH_GOOGLE_ISSUER"},
		{"no openid scope", map[string]string{"OUTBOX_OAUTH_GOOGLE_CLIENT_ID": "app", "OUTBOX_OAUTH_GOOGLE_CLIENT_SECRET": "s",
			"OUTBOX_OAUTH_GOOGLE_SCOPES": "https://mail.google.com/"}, "OUTBOX_OAUTH_GOOGLE_SCOPES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.env["OUTBOX_DATA_DIR"] = t.TempDir()
			_, err := FromEnv(envOf(tc.env))
			require.ErrorContains(t, err, tc.want)
		})
	}
	// http is fine for an issuer on loopback (tests, local identity providers).
	_, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(),
		"OUTBOX_OAUTH_GOOGLE_CLIENT_ID": "app", "OUTBOX_OAUTH_GOOGLE_CLIENT_SECRET": "s", "OUTBOX_OAUTH_GOOGLE_ISSUER": "http://127.0.0.1:9000"}))
	require.NoError(t, err)
}
