package graph

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/metrics"
)

// HandlerConfig is what NewHandler needs.
type HandlerConfig struct {
	Resolver      *Resolver
	Authenticator *Authenticator
	Metrics       *metrics.Metrics
	Logger        *slog.Logger
	// Production turns introspection off.
	Production bool
	// ComplexityLimit and DepthLimit refuse expensive operations before they run.
	ComplexityLimit int
	DepthLimit      int
	// TokenLimit caps the tokens of a document; parsing stops there.
	TokenLimit int
	// Bodies caps request bodies (a sending mutation may be larger).
	Bodies BodyLimits
	// OriginPatterns are the websocket origins allowed besides the same host.
	OriginPatterns []string
	// Limiter, when not nil, refuses callers over their abuse limits.
	Limiter *apilimit.Limiter
	// Revocations, when not nil, closes partners' websockets on revocation.
	Revocations RevocationWatcher
	// Websocket tunes websockets: init timeout, pings, subscription caps.
	Websocket WebsocketConfig
}

// NewHandler returns the /graphql endpoint: POST, GET and websockets
// (graphql-transport-ws) over one executable schema, behind the HTTP
// authentication middleware. It returns an error when the schema's @sends
// directives do not fit their fields.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	es := NewExecutableSchema(Config{
		Resolvers:  cfg.Resolver,
		Directives: DirectiveRoot{Requires: requires, Public: public},
	})
	sending, err := newSendingFields(es.Schema())
	if err != nil {
		return nil, fmt.Errorf("reading the schema: %w", err)
	}
	srv := handler.New(es)
	srv.AddTransport(&transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: coderws.AcceptOptions{OriginPatterns: cfg.OriginPatterns},
		},
		InitFunc:              websocketSession(websocketInit(cfg.Authenticator, cfg.Revocations), cfg.Websocket),
		InitTimeout:           cfg.Websocket.initTimeout(),
		KeepAlivePingInterval: cfg.Websocket.pingInterval(), // graphql-ws
		PingPongInterval:      cfg.Websocket.pingInterval(), // graphql-transport-ws
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{limits: cfg.Bodies, sending: sending})
	srv.SetErrorPresenter(errorPresenter(cfg.Logger))
	srv.SetRecoverFunc(recoverFunc)
	srv.SetParserTokenLimit(cfg.TokenLimit)
	srv.Use(repeatLimit{tokens: cfg.TokenLimit})
	if cfg.Production {
		srv.Use(noIntrospection{})
		srv.SetDisableSuggestion(true)
		srv.SetValidationRulesFn(rulesWithoutSuggestions)
	}
	srv.Use(&complexityLimit{max: cfg.ComplexityLimit})
	srv.Use(depthLimit{max: cfg.DepthLimit})
	if cfg.Limiter != nil {
		srv.Use(rateLimit{limiter: cfg.Limiter, sending: sending, present: errorPresenter(cfg.Logger)})
	}
	if !cfg.Production {
		srv.Use(extension.Introspection{})
	}
	if cfg.Metrics != nil {
		labels := newOperationLabels(es.Schema())
		srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
			start := time.Now()
			resp := next(ctx)
			if graphql.HasOperationContext(ctx) {
				opType, name := labels.of(graphql.GetOperationContext(ctx).Operation)
				cfg.Metrics.ObserveGraphQL(opType, name, resp != nil && len(resp.Errors) > 0, time.Since(start))
			}
			return resp
		})
	}
	return cfg.Authenticator.Middleware(srv), nil
}

// rulesWithoutSuggestions are gqlparser's validation rules with every
// "Did you mean …" left out (gqlgen's SetDisableSuggestion covers only
// fields and scalar leaves), so that production does not spell out the
// schema it keeps private.
func rulesWithoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, rule := range []core.Rule{
		rules.KnownArgumentNamesRuleWithoutSuggestions,
		rules.KnownTypeNamesRuleWithoutSuggestions,
		rules.ValuesOfCorrectTypeRuleWithoutSuggestions,
	} {
		r.RemoveRule(strings.TrimSuffix(rule.Name, "WithoutSuggestions"))
		r.AddRule(rule.Name, rule.RuleFunc)
	}
	return r
}

// websocketInit authenticates a websocket from the `authorization` field of
// its connection_init payload ("Bearer <token>" or the bare token).
func websocketInit(a *Authenticator, revocations RevocationWatcher) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		header := payload.Authorization()
		if header != "" && !hasScheme(header) {
			header = "Bearer " + header
		}
		ctx, p, err := a.Authenticate(ctx, header)
		if err != nil {
			return ctx, nil, err
		}
		return watchRevocation(ctx, p, revocations), nil, nil
	}
}

func hasScheme(h string) bool {
	scheme, _, ok := strings.Cut(h, " ")
	return ok && strings.EqualFold(scheme, "Bearer")
}
