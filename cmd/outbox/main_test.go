package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/config"
	"github.com/outbox/outbox/internal/secret"
)

// serveVerifier loads the configuration as `outbox serve` does (creating the
// development secrets on first use) and returns the verifier it would use.
func serveVerifier(t *testing.T, getenv func(string) string) *auth.Verifier {
	t.Helper()
	cfg, err := config.FromEnv(getenv)
	require.NoError(t, err)
	v, err := auth.NewVerifier(auth.Config{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, HS256Secret: []byte(cfg.JWTSecret)})
	require.NoError(t, err)
	return v
}

func TestTokenIsAcceptedByTheServiceVerifier(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	v := serveVerifier(t, getenv)

	var stdout, stderr bytes.Buffer
	require.NoError(t, run([]string{"token", "--tenant", "acme", "--role", "admin,member", "--sub", "alice"}, &stdout, &stderr, getenv))
	p, err := v.Verify(context.Background(), strings.TrimSpace(stdout.String()))
	require.NoError(t, err)
	require.Equal(t, "acme", p.Tenant)
	require.Equal(t, "alice", p.Subject)
	require.ElementsMatch(t, []string{"admin", "member"}, p.Roles)
}

// TestTokenReadsTheDataDirOfServe: run from elsewhere, `token --data-dir`
// signs with the secret of the serve using that directory, overriding
// OUTBOX_DATA_DIR as serve's --data-dir does.
func TestTokenReadsTheDataDirOfServe(t *testing.T) {
	t.Parallel()
	serveDir := t.TempDir()
	v := serveVerifier(t, func(k string) string { return map[string]string{"OUTBOX_DATA_DIR": serveDir}[k] })

	elsewhere := t.TempDir()
	getenv := func(k string) string { return map[string]string{"OUTBOX_DATA_DIR": elsewhere}[k] }
	var stdout, stderr bytes.Buffer
	require.NoError(t, run([]string{"token", "--data-dir", serveDir, "--tenant", "acme"}, &stdout, &stderr, getenv))
	p, err := v.Verify(context.Background(), strings.TrimSpace(stdout.String()))
	require.NoError(t, err)
	require.Equal(t, "acme", p.Tenant)
	requireEmptyDir(t, elsewhere)
}

// TestTokenNeverCreatesSecrets: where serve never ran, token says where it
// looked and what to do, and leaves the directory as it found it; a
// configured OUTBOX_JWT_SECRET needs no data directory at all.
func TestTokenNeverCreatesSecrets(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nothing-here")
	for name, dir := range map[string]string{"empty": empty, "missing": missing} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, args := range [][]string{
				{"token", "--tenant", "acme"},
				{"token", "--operator"},
			} {
				env := map[string]string{"OUTBOX_DATA_DIR": dir}
				var stdout, stderr bytes.Buffer
				err := run(args, &stdout, &stderr, func(k string) string { return env[k] })
				require.ErrorContains(t, err, "no development secrets in "+dir)
				require.ErrorContains(t, err, "start `outbox serve` once")
				require.ErrorContains(t, err, "--data-dir")
				require.Empty(t, stdout.String())

				err = run(append([]string{"token", "--data-dir", dir}, args[1:]...), &stdout, &stderr, func(string) string { return "" })
				require.ErrorContains(t, err, "no development secrets in "+dir)
			}
			if dir == missing {
				require.NoDirExists(t, dir)
			} else {
				requireEmptyDir(t, dir)
			}
		})
	}

	t.Run("relative data dir named absolute", func(t *testing.T) {
		t.Parallel()
		// The default ./.outbox, resolved against the working directory.
		err := run([]string{"token", "--tenant", "acme", "--data-dir", "./no-such-outbox-dir"}, io.Discard, io.Discard, func(string) string { return "" })
		wd, wdErr := os.Getwd()
		require.NoError(t, wdErr)
		require.ErrorContains(t, err, "no development secrets in "+filepath.Join(wd, "no-such-outbox-dir"))
		require.NoDirExists(t, "no-such-outbox-dir")
	})

	t.Run("configured secret", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		env := map[string]string{"OUTBOX_DATA_DIR": dir, "OUTBOX_JWT_SECRET": strings.Repeat("s", 32)}
		getenv := func(k string) string { return env[k] }
		var stdout bytes.Buffer
		require.NoError(t, run([]string{"token", "--tenant", "acme"}, &stdout, io.Discard, getenv))
		requireEmptyDir(t, dir)
		p, err := serveVerifier(t, getenv).Verify(context.Background(), strings.TrimSpace(stdout.String()))
		require.NoError(t, err)
		require.Equal(t, "acme", p.Tenant)
	})
}

func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "token must not write into %s", dir)
}

func TestTokenOperator(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	v := serveVerifier(t, getenv)

	var stdout, stderr bytes.Buffer
	require.NoError(t, run([]string{"token", "--operator", "--sub", "ops"}, &stdout, &stderr, getenv))
	p, err := v.Verify(context.Background(), strings.TrimSpace(stdout.String()))
	require.NoError(t, err)
	require.True(t, p.IsOperator())
	require.Equal(t, "ops", p.Subject)
	require.Empty(t, p.Tenant)
	require.True(t, p.Can(auth.PermOperate))
	require.False(t, p.Can(auth.PermSettingsRead))

	for _, args := range [][]string{
		{"token", "--operator", "--tenant", "acme"},
		{"token", "--operator", "--role", "admin"},
		{"token", "--tenant", "acme", "--role", "admin", "--operator"},
	} {
		stdout.Reset()
		err := run(args, &stdout, &stderr, getenv)
		require.ErrorContains(t, err, "--operator mints a token for no tenant", args)
		require.ErrorContains(t, err, "leave out --tenant and --role", args)
		require.Empty(t, stdout.String())
	}
}

// TestSecretKey: the printed entry is what OUTBOX_SECRET_KEY takes, alone or
// first before older keys, and the keyring it makes seals and opens.
func TestSecretKey(t *testing.T) {
	t.Parallel()
	var first, second, stderr bytes.Buffer
	require.NoError(t, run([]string{"secret-key"}, &first, &stderr, func(string) string { return "" }))
	require.NoError(t, run([]string{"secret-key", "--id", "k2"}, &second, &stderr, func(string) string { return "" }))
	require.Regexp(t, `^k[0-9]{8}:[A-Za-z0-9+/]{43}=\n$`, first.String())
	require.Regexp(t, `^k2:`, second.String())
	require.Contains(t, stderr.String(), "OUTBOX_SECRET_KEY")

	older := strings.TrimSpace(first.String())
	spec := strings.TrimSpace(second.String()) + "," + older
	ring, err := secret.ParseKeyring(spec)
	require.NoError(t, err)
	require.Equal(t, "k2", ring.CurrentKeyID())
	aad := secret.AAD("tenant", "acme", "smtp.password")
	sealed, err := ring.Seal([]byte("hunter2"), aad)
	require.NoError(t, err)
	require.Equal(t, "k2", sealed.KeyID)
	opened, err := ring.Open(sealed, aad)
	require.NoError(t, err)
	require.Equal(t, "hunter2", string(opened))

	// The older key still opens what it sealed once it is second.
	oldRing, err := secret.ParseKeyring(older)
	require.NoError(t, err)
	sealedOld, err := oldRing.Seal([]byte("hunter1"), aad)
	require.NoError(t, err)
	opened, err = ring.Open(sealedOld, aad)
	require.NoError(t, err)
	require.Equal(t, "hunter1", string(opened))

	// serve takes it as its keyring setting.
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"OUTBOX_DATA_DIR": t.TempDir(), "OUTBOX_SECRET_KEY": spec}[k]
	})
	require.NoError(t, err)
	require.Equal(t, spec, cfg.SecretKey)

	require.NotEqual(t, strings.SplitN(first.String(), ":", 2)[1], strings.SplitN(second.String(), ":", 2)[1], "every key is fresh")
	require.ErrorContains(t, run([]string{"secret-key", "--id", "a:b"}, io.Discard, io.Discard, func(string) string { return "" }), "key id")
	require.ErrorContains(t, run([]string{"secret-key", "extra"}, io.Discard, io.Discard, func(string) string { return "" }), "unexpected argument")
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	serveVerifier(t, getenv)
	var out, errOut bytes.Buffer
	require.ErrorContains(t, run(nil, &out, &errOut, getenv), "no command")
	require.ErrorContains(t, run([]string{"frobnicate"}, &out, &errOut, getenv), `unknown command "frobnicate"`)
	require.ErrorContains(t, run([]string{"token", "--role", "admin"}, &out, &errOut, getenv), "--tenant is required")
	require.ErrorContains(t, run([]string{"token", "--tenant", "acme", "--role", "owner"}, &out, &errOut, getenv), "owner")
	env["OUTBOX_WORKERS"] = "lots"
	require.ErrorContains(t, run([]string{"serve"}, &out, &errOut, getenv), "OUTBOX_WORKERS")

	out.Reset()
	require.NoError(t, run([]string{"version"}, &out, &errOut, getenv))
	require.True(t, strings.HasPrefix(out.String(), "outbox "))
}

// TestLoggerBoundsAndRedacts: the service's logger cuts long values and
// hides secrets, in development (text) and production (JSON) alike.
func TestLoggerBoundsAndRedacts(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	for _, envName := range []string{config.EnvDevelopment, config.EnvProduction} {
		cfg.Env = envName
		var buf bytes.Buffer
		newLogger(cfg, &buf).Error("decoding request", "err", errors.New(strings.Repeat("q", 100_000)), "password", "hunter2")
		require.Less(t, buf.Len(), 2048, envName)
		require.Contains(t, buf.String(), "truncated", envName)
		require.NotContains(t, buf.String(), "hunter2", envName)
	}
}
