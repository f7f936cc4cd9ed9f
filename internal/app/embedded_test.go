package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/app"
	"github.com/outbox/outbox/internal/config"
)

// TestPrivateDatabaseKeepsDataAcrossRestarts runs the service as `serve`
// does with DATABASE_URL unset: a private PostgreSQL under the data
// directory, which keeps the tenants' data when the service restarts.
func TestPrivateDatabaseKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	// As root, the private PostgreSQL runs as the postgres OS user, which
	// must be able to reach the data directory (t.TempDir's parent is 0700).
	require.NoError(t, os.Chmod(filepath.Dir(dataDir), 0o711))
	env := map[string]string{"OUTBOX_DATA_DIR": dataDir}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Empty(t, cfg.DatabaseURL)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := func() *app.App {
		a, err := app.New(ctx, cfg, logger, app.Options{})
		require.NoError(t, err)
		return a
	}

	first := start()
	tenant, err := first.Store().EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	first.Close()

	second := start()
	defer second.Close()
	again, err := second.Store().EnsureTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, tenant.ID, again.ID, "the tenant created before the restart is still there")
	require.NoError(t, second.Store().Ping(ctx))
}
