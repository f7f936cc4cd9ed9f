package graph

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/outbox/outbox/internal/apilimit"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// Authenticator turns a bearer token into the caller (auth.Principal) and
// its tenant (outbox.Tenant) in the request context. It serves both the HTTP
// middleware and the websocket connection_init.
type Authenticator struct {
	verifier *auth.Verifier
	tenants  Tenants
	// anonymous limits the requests without a valid token per client
	// address; nil: unlimited.
	anonymous *apilimit.Anonymous
}

// Tenants provisions the tenant a token names: tenant.Service implements it.
type Tenants interface {
	// Ensure returns the tenant with the slug, creating it on its first
	// request.
	Ensure(ctx context.Context, slug string) (outbox.Tenant, error)
}

// NewAuthenticator returns an Authenticator verifying tokens with verifier
// and taking their tenants from tenants. anonymous, when not nil, limits
// the HTTP requests that carry no valid token.
func NewAuthenticator(verifier *auth.Verifier, tenants Tenants, anonymous *apilimit.Anonymous) *Authenticator {
	return &Authenticator{verifier: verifier, tenants: tenants, anonymous: anonymous}
}

// Authenticate verifies the value of an Authorization header ("Bearer
// <token>") and returns ctx carrying the caller and its tenant (none for
// an operator). Errors are
// EUNAUTHENTICATED outbox errors, or internal ones when the tenant could not
// be loaded.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (context.Context, auth.Principal, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return ctx, auth.Principal{}, outbox.Errorf(outbox.EUNAUTHENTICATED, "the Authorization header must be \"Bearer <token>\"")
	}
	p, err := a.verifier.Verify(ctx, strings.TrimSpace(token))
	if err != nil {
		return ctx, auth.Principal{}, err
	}
	ctx = auth.NewContextWithPrincipal(ctx, p)
	if p.IsOperator() {
		// An operator acts on no tenant of its own: the operator operations
		// name theirs, and nothing else is open to it.
		return ctx, p, nil
	}
	tenant, err := a.tenants.Ensure(ctx, p.Tenant)
	if err != nil {
		return ctx, auth.Principal{}, err
	}
	ctx = outbox.NewContextWithTenant(ctx, tenant)
	ctx = outbox.NewContextWithCaller(ctx, outbox.Caller{Subject: p.Subject, ManagesSenders: p.Can(auth.PermSettingsWrite)})
	return ctx, p, nil
}

// Middleware authenticates requests that carry an Authorization header. A
// request without one goes on anonymous (verifySender needs no token); a
// refused token is remembered so that @requires reports why. Requests
// without a valid token count against the per-address anonymous limit
// first (a websocket's upgrade is one), and over it are answered 429 with
// RATE_LIMITED before anything else is done.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var err error
		if header := r.Header.Get("Authorization"); header != "" {
			ctx, _, err = a.Authenticate(ctx, header)
			if err != nil {
				ctx = context.WithValue(r.Context(), tokenErrorKey{}, err)
			}
		}
		if _, ok := auth.PrincipalFromContext(ctx); !ok {
			if err := a.anonymous.Allow(r.RemoteAddr); err != nil {
				WriteRateLimited(w, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// WriteRateLimited answers a request refused by a rate limit: HTTP 429 with
// a Retry-After header and a GraphQL error RATE_LIMITED with retryAfter.
func WriteRateLimited(w http.ResponseWriter, err error) {
	e := outbox.AsError(err)
	seconds := max(1, int(math.Ceil(e.RetryAfter.Seconds())))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	w.WriteHeader(http.StatusTooManyRequests)
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // the client may be gone; nothing to tell it
		"errors": []map[string]any{{
			"message":    e.Message,
			"extensions": map[string]any{"code": string(outbox.ERATELIMITED), "retryAfter": seconds},
		}},
		"data": nil,
	})
}

type tokenErrorKey struct{}

// tokenErrorFromContext returns why the request's token was refused, or nil.
func tokenErrorFromContext(ctx context.Context) error {
	err, _ := ctx.Value(tokenErrorKey{}).(error)
	return err
}
