package httpserver

import (
	"net/http"
	"time"
)

// Timeouts bound how long a client may hold a connection; zero fields
// leave net/http's defaults (no limit).
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included.
	Read time.Duration
	// Idle bounds the wait for the next request on a kept-alive connection.
	Idle time.Duration
	// MaxHeaderBytes caps a request's headers.
	MaxHeaderBytes int
}

// NewServer returns the HTTP server of h with the timeouts t, so that a
// slow or idle client holds a connection only so long. There is no write
// timeout: a test send or a long poll may take its time, and the handlers
// bound their own work. A websocket, once upgraded, is bound by its pings
// instead: net/http clears the deadlines of a hijacked connection.
func NewServer(h http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    t.MaxHeaderBytes,
	}
}
