package loglimit_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/loglimit"
)

func TestMinLevelDropsLowerRecords(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	logger := slog.New(loglimit.MinLevel(base, slog.LevelWarn)).With("component", "river").WithGroup("g")

	logger.Debug("debug line")
	logger.Info("Job errored; retrying", "job_id", 1)
	logger.Warn("warn line", "k", "v")
	logger.Error("error line")

	out := buf.String()
	require.NotContains(t, out, "debug line")
	require.NotContains(t, out, "Job errored")
	require.Contains(t, out, "warn line")
	require.Contains(t, out, "component=river")
	require.Contains(t, out, "g.k=v")
	require.Contains(t, out, "error line")
	require.Equal(t, 2, strings.Count(out, "\n"))
	require.False(t, logger.Enabled(t.Context(), slog.LevelInfo))
}
