package httpserver

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/outbox"
)

// RequestIDs is a middleware that gives every request an id (or keeps the
// caller's X-Request-Id, up to 64 bytes) and echoes it in the response.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = outbox.NewRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(outbox.NewContextWithRequestID(r.Context(), id)))
	})
}

// JSONByDefault treats a POST body as JSON when the client did not say it
// is, as `curl -d '{"query":…}'` does (it sends a form content type).
func JSONByDefault(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			switch ct := r.Header.Get("Content-Type"); {
			case ct == "", strings.HasPrefix(ct, "application/x-www-form-urlencoded"), strings.HasPrefix(ct, "text/plain"):
				r.Header.Set("Content-Type", "application/json")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// LimitAnonymous answers 429, with Retry-After, to a client address over
// its anonymous limit l (nil: unlimited).
func LimitAnonymous(l *apilimit.Anonymous, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := l.Allow(r.RemoteAddr); err != nil {
			e := outbox.AsError(err)
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds())))))
			http.Error(w, e.Message, http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}
