package loglimit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// DefaultMaxValueBytes is the longest value kept whole: 1 KiB.
const DefaultMaxValueBytes = 1024

// Redacted replaces the value of an attribute whose key names a secret.
const Redacted = "[redacted]"

// Options tune a Handler.
type Options struct {
	// MaxValueBytes is the longest message, string, error or byte value
	// kept whole; longer ones are cut there and marked. Default 1 KiB.
	MaxValueBytes int
}

// Handler bounds and redacts the records it passes to the handler it wraps.
type Handler struct {
	next slog.Handler
	max  int
}

// NewHandler returns a Handler passing bounded, redacted records to next.
func NewHandler(next slog.Handler, opts Options) *Handler {
	if opts.MaxValueBytes <= 0 {
		opts.MaxValueBytes = DefaultMaxValueBytes
	}
	return &Handler{next: next, max: opts.MaxValueBytes}
}

// Enabled reports whether the wrapped handler handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle passes a copy of r with its message and attributes bounded and
// redacted; it returns the wrapped handler's error.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.truncate(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs returns a Handler whose wrapped handler has attrs, bounded and
// redacted.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	bounded := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		bounded[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(bounded), max: h.max}
}

// WithGroup returns a Handler whose wrapped handler opens group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), max: h.max}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	if namesSecret(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); len(s) > h.max {
			return slog.String(a.Key, h.truncate(s))
		}
	case slog.KindGroup:
		group := v.Group()
		bounded := make([]slog.Attr, len(group))
		for i, g := range group {
			bounded[i] = h.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(bounded...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.truncate(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, h.truncate(x.String()))
		case []byte:
			return slog.String(a.Key, h.truncate(string(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// truncate cuts s to at most h.max bytes on a rune boundary and says how
// much was cut.
func (h *Handler) truncate(s string) string {
	if len(s) <= h.max {
		return s
	}
	cut := h.max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…[truncated %d bytes]", s[:cut], len(s)-cut)
}

// secretWords are the key endings that name a secret, compared in lower
// case without '_', '-' and '.': password, smtp_password, api-key, …
var secretWords = []string{"password", "passwd", "secret", "authvalue", "authorization", "token", "apikey", "cookie"}

func namesSecret(key string) bool {
	k := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.':
			return -1
		}
		return r
	}, strings.ToLower(key))
	for _, w := range secretWords {
		if strings.HasSuffix(k, w) {
			return true
		}
	}
	return false
}
