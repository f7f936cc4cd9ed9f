package httpserver

import (
	"net/http"

	"github.com/rs/cors"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/console"
)

// Routes are the handlers of OUTBOX_HTTP_ADDR, built by the app.
type Routes struct {
	// GraphQL serves /graphql: POST, GET and websockets.
	GraphQL http.Handler
	// Ready answers GET /readyz.
	Ready http.Handler
	// Verify serves GET and POST /verify, the page behind verification
	// links; it needs no token, so Anonymous limits it.
	Verify http.Handler
	// OAuthCallback, when not nil, serves GET /oauth/callback, where mail
	// providers send the browser back; it needs no token, so Anonymous
	// limits it.
	OAuthCallback http.Handler
	// Unsubscribe, when not nil, serves GET and POST /unsubscribe, the
	// one-click unsubscribe of SUBSCRIPTION mail; Anonymous limits it as
	// well.
	Unsubscribe http.Handler
	// Anonymous limits the requests of the verification page per client
	// address; nil: unlimited.
	Anonymous *apilimit.Anonymous
	// Metrics, when not nil, serves GET /metrics on this mux.
	Metrics http.Handler
	// Mailbox, when not nil, serves the development mailbox under
	// /dev/mailbox.
	Mailbox Mailbox
	// GraphiQL serves GraphiQL on GET /graphiql (development only).
	GraphiQL bool
	// Console, when not nil, serves the web console under /console/.
	Console http.Handler
	// CORSOrigins are the origins (patterns with one "*" allowed) whose
	// pages may call /graphql from the browser; empty: none besides the
	// service's own.
	CORSOrigins []string
	// Instrument, when not nil, wraps the handler of a route with its
	// metrics.
	Instrument func(route string, h http.Handler) http.Handler
}

// Mailbox is the development mailbox's pages: pages.Mailbox.
type Mailbox interface {
	// List serves the mails as a page.
	List(w http.ResponseWriter, r *http.Request)
	// JSON serves the mails as JSON.
	JSON(w http.ResponseWriter, r *http.Request)
	// Raw serves one mail, by the path's {id}, as it was sent.
	Raw(w http.ResponseWriter, r *http.Request)
}

// NewHandler returns the handler of every route of rt: /graphql (its POST
// bodies read as JSON by default), /healthz, /readyz, /verify and what rt
// adds, each request with a request id.
func NewHandler(rt Routes) http.Handler {
	instrument := rt.Instrument
	if instrument == nil {
		instrument = func(_ string, h http.Handler) http.Handler { return h }
	}
	mux := http.NewServeMux()
	mux.Handle("/graphql", instrument("/graphql", CORS(rt.CORSOrigins, JSONByDefault(rt.GraphQL))))
	if rt.GraphiQL {
		graphiql := Playground()
		mux.Handle("GET /graphiql", graphiql)
		mux.Handle("GET "+console.GraphiQLAssets, graphiql)
	}
	if rt.Console != nil {
		mux.Handle("/console", rt.Console)
		mux.Handle(console.Prefix, rt.Console)
	}
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", rt.Ready)
	verify := instrument("/verify", LimitAnonymous(rt.Anonymous, rt.Verify))
	mux.Handle("GET /verify", verify)
	mux.Handle("POST /verify", verify)
	if rt.OAuthCallback != nil {
		mux.Handle("GET /oauth/callback", instrument("/oauth/callback", LimitAnonymous(rt.Anonymous, rt.OAuthCallback)))
	}
	if rt.Unsubscribe != nil {
		unsubscribe := instrument("/unsubscribe", LimitAnonymous(rt.Anonymous, rt.Unsubscribe))
		mux.Handle("GET /unsubscribe", unsubscribe)
		mux.Handle("POST /unsubscribe", unsubscribe)
	}
	if rt.Mailbox != nil {
		mux.HandleFunc("GET /dev/mailbox", rt.Mailbox.List)
		mux.HandleFunc("GET /dev/mailbox.json", rt.Mailbox.JSON)
		mux.HandleFunc("GET /dev/mailbox/{id}", rt.Mailbox.Raw)
	}
	if rt.Metrics != nil {
		mux.Handle("GET /metrics", rt.Metrics)
	}
	return RequestIDs(mux)
}

// MetricsHandler returns the handler of a listener that serves nothing but
// GET /metrics (OUTBOX_METRICS_ADDR).
func MetricsHandler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return mux
}

// Playground serves GraphiQL for /graphql, its scripts embedded.
func Playground() http.Handler {
	return console.GraphiQL("/graphql")
}

// CORS returns h answering cross-origin requests (and their preflights)
// from origins: GET and POST with the Authorization and Content-Type
// headers, no cookies (the API takes bearer tokens only). No origins: h
// itself, so browsers refuse other origins' pages.
func CORS(origins []string, h http.Handler) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		MaxAge:         600,
	}).Handler(h)
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Write([]byte("ok\n")) //nolint:errcheck // a failed write to a health probe has no one to tell
}
