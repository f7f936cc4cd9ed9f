package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/config"
)

func TestTokenIsAcceptedByTheServiceVerifier(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
	var stdout, stderr bytes.Buffer
	require.NoError(t, run([]string{"token", "--tenant", "acme", "--role", "admin,member", "--sub", "alice"}, &stdout, &stderr, getenv))

	// serve loads the same configuration, so it verifies with the same secret.
	cfg, err := config.FromEnv(getenv)
	require.NoError(t, err)
	v, err := auth.NewVerifier(auth.Config{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, HS256Secret: []byte(cfg.JWTSecret)})
	require.NoError(t, err)
	p, err := v.Verify(context.Background(), strings.TrimSpace(stdout.String()))
	require.NoError(t, err)
	require.Equal(t, "acme", p.Tenant)
	require.Equal(t, "alice", p.Subject)
	require.ElementsMatch(t, []string{"admin", "member"}, p.Roles)
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OUTBOX_DATA_DIR": t.TempDir()}
	getenv := func(k string) string { return env[k] }
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
