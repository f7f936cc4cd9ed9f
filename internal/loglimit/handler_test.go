package loglimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func newTestLogger(max int) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(NewHandler(h, Options{MaxValueBytes: max})), &buf
}

func decodeLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m), buf.String())
	buf.Reset()
	return m
}

type bigStringer struct{}

func (bigStringer) String() string { return strings.Repeat("s", 5000) }

func TestLongValuesAreTruncated(t *testing.T) {
	t.Parallel()
	logger, buf := newTestLogger(100)
	long := strings.Repeat("x", 10_000)
	logger.Error("delivering message",
		"body", long,
		"err", errors.New("gqlgen: "+long),
		"wrapped", fmt.Errorf("sending: %w", errors.New(long)),
		"stringer", bigStringer{},
		"raw", []byte(long),
		slog.Group("req", "query", long, "short", "ok"),
		"count", 7,
	)
	require.Less(t, buf.Len(), 1500, "the line is bounded: %s", buf.String())
	m := decodeLine(t, buf)
	for _, key := range []string{"body", "err", "wrapped", "stringer", "raw"} {
		v, ok := m[key].(string)
		require.True(t, ok, "%s: %T", key, m[key])
		require.LessOrEqual(t, len(v), 100+len("…[truncated 99999 bytes]"), key)
		require.Contains(t, v, "…[truncated ", key)
	}
	require.True(t, strings.HasPrefix(m["err"].(string), "gqlgen: xxx"))
	group := m["req"].(map[string]any)
	require.Contains(t, group["query"], "…[truncated 9900 bytes]")
	require.Equal(t, "ok", group["short"])
	require.Equal(t, float64(7), m["count"])
	require.Equal(t, "delivering message", m["msg"])

	// Short values pass unchanged; an error stays its message.
	logger.Info("fine", "a", "short", "err", errors.New("boom"))
	m = decodeLine(t, buf)
	require.Equal(t, "short", m["a"])
	require.Equal(t, "boom", m["err"])
}

func TestLongMessageAndAttrsFromWith(t *testing.T) {
	t.Parallel()
	logger, buf := newTestLogger(64)
	long := strings.Repeat("y", 1000)
	logger.With("ctx", long).WithGroup("g").Warn(long, "inner", long)
	require.Less(t, buf.Len(), 600, buf.String())
	m := decodeLine(t, buf)
	require.Contains(t, m["msg"], "…[truncated")
	require.Contains(t, m["ctx"], "…[truncated")
	require.Contains(t, m["g"].(map[string]any)["inner"], "…[truncated")
}

func TestTruncationKeepsUTF8(t *testing.T) {
	t.Parallel()
	logger, buf := newTestLogger(10)
	logger.Info("m", "jp", strings.Repeat("あ", 100)) // 3 bytes each
	m := decodeLine(t, buf)
	v := m["jp"].(string)
	require.True(t, utf8.ValidString(v))
	require.True(t, strings.HasPrefix(v, "あああ…"), v)
}

func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	logger, buf := newTestLogger(0)
	logger.With("Authorization", "Bearer abc").Info("m",
		"password", "hunter2", "authValue", "key-1", "smtp_password", "p2", "api_key", "k3",
		"client-secret", "s4", "token", "t5", "tokens", 3, slog.Group("smtp", "password", "p6", "host", "mx"))
	line := buf.String()
	for _, secret := range []string{"Bearer abc", "hunter2", "key-1", "p2", "k3", "s4", "t5", "p6"} {
		require.NotContains(t, line, secret)
	}
	m := decodeLine(t, bytes.NewBufferString(line))
	require.Equal(t, "[redacted]", m["password"])
	require.Equal(t, float64(3), m["tokens"], "only keys that name a secret are redacted")
	require.Equal(t, "mx", m["smtp"].(map[string]any)["host"])
}

func TestDefaultLimitAndEnabled(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := NewHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}), Options{})
	require.False(t, h.Enabled(context.Background(), slog.LevelDebug))
	require.True(t, h.Enabled(context.Background(), slog.LevelInfo))
	slog.New(h).Info("m", "v", strings.Repeat("z", 5000))
	require.Contains(t, buf.String(), "…[truncated 3976 bytes]", "the default is 1 KiB")
}
