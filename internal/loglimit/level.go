package loglimit

import (
	"context"
	"log/slog"
)

// minLevel passes on only the records at its level or above.
type minLevel struct {
	next  slog.Handler
	level slog.Level
}

// MinLevel returns a handler that drops records below level and hands the
// rest to next. The service gives River such a logger: River writes an INFO
// line for every job that errors and is retried, which during an outage of
// a mail server would be one line per message attempt.
func MinLevel(next slog.Handler, level slog.Level) slog.Handler {
	return minLevel{next: next, level: level}
}

func (h minLevel) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.level && h.next.Enabled(ctx, level)
}

func (h minLevel) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.level {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{next: h.next.WithAttrs(attrs), level: h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{next: h.next.WithGroup(name), level: h.level}
}
