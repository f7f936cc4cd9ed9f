package config

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": dir}))
	require.NoError(t, err)
	require.Equal(t, EnvDevelopment, c.Env)
	require.Equal(t, RoleAll, c.Role)
	require.Equal(t, "127.0.0.1:8080", c.HTTPAddr)
	require.Equal(t, "http://127.0.0.1:8080", c.PublicURL)
	require.Equal(t, "outbox", c.JWTAudience)
	require.Equal(t, "outbox-dev", c.JWTIssuer)
	require.NotEmpty(t, c.JWTSecret)
	require.Regexp(t, `^dev1:`, c.SecretKey)
	require.True(t, c.AllowPrivateNetworks(), "development talks to servers on loopback")

	for _, name := range []string{jwtSecretFile, secretKeyFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}

	// A second load (another process, `outbox token`) sees the same secrets.
	again, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": dir}))
	require.NoError(t, err)
	require.Equal(t, c.JWTSecret, again.JWTSecret)
	require.Equal(t, c.SecretKey, again.SecretKey)
}

func TestFlagsOverrideEnv(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c, err := Load(fs, []string{"--http-addr", "127.0.0.1:9999", "--role", "worker"}, envOf(map[string]string{
		"OUTBOX_DATA_DIR":  t.TempDir(),
		"OUTBOX_HTTP_ADDR": "127.0.0.1:7777",
	}))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9999", c.HTTPAddr)
	require.Equal(t, RoleWorker, c.Role)
	require.False(t, c.RunsAPI())
	require.True(t, c.RunsWorker())
}

func TestValidationNamesTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OUTBOX_ENV": "staging"}, "OUTBOX_ENV"},
		{map[string]string{"OUTBOX_ROLE": "both"}, "OUTBOX_ROLE"},
		{map[string]string{"OUTBOX_HTTP_ADDR": "8080"}, "OUTBOX_HTTP_ADDR"},
		{map[string]string{"OUTBOX_SHUTDOWN_TIMEOUT": "soon"}, "OUTBOX_SHUTDOWN_TIMEOUT"},
		{map[string]string{"OUTBOX_WORKERS": "many"}, "OUTBOX_WORKERS"},
		{map[string]string{"OUTBOX_WORKERS": "0"}, "OUTBOX_WORKERS"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{map[string]string{"OUTBOX_PUBLIC_URL": "example.com"}, "OUTBOX_PUBLIC_URL"},
		{map[string]string{"OUTBOX_PLATFORM_SMTP_URL": "smtp://u:hunter2@relay?security=ssl"}, "OUTBOX_PLATFORM_SMTP_URL"},
		{map[string]string{"OUTBOX_JWT_SECRET": "short"}, "OUTBOX_JWT_SECRET"},
		{map[string]string{"OUTBOX_UNSUBSCRIBE_MAILTO": "Unsubscribe <u@outbox.example>"}, "OUTBOX_UNSUBSCRIBE_MAILTO"},
		{map[string]string{"OUTBOX_UNSUBSCRIBE_MAILTO": "u@outbox.example?subject=x"}, "OUTBOX_UNSUBSCRIBE_MAILTO"},
		{map[string]string{"OUTBOX_UNSUBSCRIBE_MAILTO": "nobody"}, "OUTBOX_UNSUBSCRIBE_MAILTO"},
		{map[string]string{"OUTBOX_LOG_LEVEL": "loud"}, "OUTBOX_LOG_LEVEL"},
		{map[string]string{"OUTBOX_PRIVATE_NETWORKS": "maybe"}, "OUTBOX_PRIVATE_NETWORKS"},
		{map[string]string{"OUTBOX_BOUNCE_DOMAIN": "bounces@example.com"}, "OUTBOX_BOUNCE_DOMAIN"},
		{map[string]string{"OUTBOX_INBOUND_SMTP_ADDR": "127.0.0.1:2525"}, "OUTBOX_INBOUND_SMTP_ADDR"},
		{map[string]string{"OUTBOX_BOUNCE_DOMAIN": "bounces.example.com", "OUTBOX_INBOUND_SMTP_ADDR": "2525"}, "OUTBOX_INBOUND_SMTP_ADDR"},
		{map[string]string{"OUTBOX_INBOUND_MAX_BYTES": "100"}, "OUTBOX_INBOUND_MAX_BYTES"},
		{map[string]string{"OUTBOX_INBOUND_RATE_LIMIT": "-1"}, "OUTBOX_INBOUND_RATE_LIMIT"},
		{map[string]string{"OUTBOX_INBOUND_TIMEOUT": "1ms"}, "OUTBOX_INBOUND_TIMEOUT"},
		{map[string]string{"OUTBOX_INBOUND_MAX_CONNS": "0"}, "OUTBOX_INBOUND_MAX_CONNS"},
		{map[string]string{"OUTBOX_CORS_ORIGINS": "shop.example"}, "OUTBOX_CORS_ORIGINS"},
		{map[string]string{"OUTBOX_CORS_ORIGINS": "https://shop.example/console"}, "OUTBOX_CORS_ORIGINS"},
		{map[string]string{"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp"}, "OUTBOX_SECRET_KEY"},
		{map[string]string{"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp", "OUTBOX_SECRET_KEY": "k:x"}, "OUTBOX_JWT_SECRET"},
	}
	for _, tc := range cases {
		env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
		for k, v := range tc.env {
			env[k] = v
		}
		_, err := FromEnv(envOf(env))
		require.Error(t, err, tc.env)
		require.Contains(t, err.Error(), tc.want, tc.env)
		require.NotContains(t, err.Error(), "hunter2", "errors must not echo secrets")
	}
}

func TestProductionGeneratesNoSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": dir, "OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp"}))
	require.Error(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestParseRelayURL(t *testing.T) {
	t.Parallel()
	r, err := ParseRelayURL("smtp://user:p%40ss@relay.example.com?security=tls")
	require.NoError(t, err)
	require.Equal(t, Relay{Host: "relay.example.com", Port: 465, Username: "user", Password: "p@ss", Security: "tls"}, r)

	r, err = ParseRelayURL("smtp://relay.example.com:2525?security=none")
	require.NoError(t, err)
	require.Equal(t, 2525, r.Port)
	require.Equal(t, "none", r.Security)

	r, err = ParseRelayURL("smtp://relay.example.com")
	require.NoError(t, err)
	require.Equal(t, 587, r.Port)
	require.Equal(t, "starttls", r.Security)

	for _, bad := range []string{"http://relay", "smtp://:25", "smtp://relay:99999", "smtp://relay?security=ssl"} {
		_, err := ParseRelayURL(bad)
		require.Error(t, err, bad)
	}
}

func TestProductionDeniesPrivateNetworksByDefault(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp",
		"OUTBOX_JWT_SECRET": "0123456789abcdef0123456789abcdef", "OUTBOX_SECRET_KEY": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	}
	c, err := FromEnv(envOf(env))
	require.NoError(t, err)
	require.False(t, c.AllowPrivateNetworks())

	env["OUTBOX_PRIVATE_NETWORKS"] = "allow"
	c, err = FromEnv(envOf(env))
	require.NoError(t, err)
	require.True(t, c.AllowPrivateNetworks())
}

// TestReadDevSecretsCreatesNothing: reading finds the secrets Load made
// and, where there are none, leaves them empty and the directory alone.
func TestReadDevSecretsCreatesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := Parse(flag.NewFlagSet("token", flag.ContinueOnError), []string{"--data-dir", dir}, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, dir, c.DataDir)
	require.NoError(t, c.ReadDevSecrets())
	require.Empty(t, c.JWTSecret)
	require.Empty(t, c.SecretKey)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)

	missing := filepath.Join(dir, "missing")
	c.DataDir = missing
	require.NoError(t, c.ReadDevSecrets())
	require.NoDirExists(t, missing)

	served, err := FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": dir}))
	require.NoError(t, err)
	c.DataDir = dir
	require.NoError(t, c.ReadDevSecrets())
	require.Equal(t, served.JWTSecret, c.JWTSecret)
	require.Equal(t, served.SecretKey, c.SecretKey)
}

func TestCORSOriginsAcceptsOriginsAndPatterns(t *testing.T) {
	t.Parallel()
	cfg, err := FromEnv(envOf(map[string]string{
		"OUTBOX_DATA_DIR":     t.TempDir(),
		"OUTBOX_CORS_ORIGINS": "https://shop.example, http://localhost:5173,https://*.platform.example",
	}))
	require.NoError(t, err)
	require.Equal(t, "https://shop.example, http://localhost:5173,https://*.platform.example", cfg.CORSOrigins)
	_, err = FromEnv(envOf(map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_CORS_ORIGINS": "*"}))
	require.NoError(t, err)
}
