package auth

import (
	"context"
	"time"
)

// Kind says which sort of caller a Principal is.
type Kind string

// The kinds of caller.
const (
	// KindUser is a person of a tenant, signed in through the platform.
	KindUser Kind = "user"
	// KindPartner is a partner system acting for a tenant with its own key.
	KindPartner Kind = "partner"
	// KindOperator is a person who runs the platform itself (a platform
	// token with the operator role). It acts for no tenant: it may manage
	// tenants as a whole (PermOperate) and nothing inside any of them.
	KindOperator Kind = "operator"
)

// Principal is who is calling, as proven by a verified token. Everything a
// user or partner reads or changes is confined to Tenant; an operator has no
// Tenant and holds no permission inside one.
type Principal struct {
	Kind Kind
	// Subject is the user's `sub`, or the partner's client id.
	Subject string
	// Tenant is the tenant the caller acts for: the `tenant` claim of a user
	// token, or the tenant that registered the partner client. Always empty
	// for an operator, whatever its token claims.
	Tenant string
	// Roles are a user's roles (RoleAdmin, RoleMember), exactly
	// [RoleOperator] for an operator, empty for partners.
	Roles []string
	// Scopes are a partner's granted scopes; empty for users.
	Scopes []Scope
	// ClientID is the partner's client id; empty for users.
	ClientID string
	// KeyID is the kid of the partner key the token was signed with; empty
	// for users.
	KeyID string
	// TokenID is the token's `jti`, empty when a user token has none.
	TokenID string
	// ExpiresAt is the token's `exp`.
	ExpiresAt time.Time
}

// IsOperator reports whether p is a platform operator, who acts for no
// tenant. Only the Verifier makes one, from a platform token whose roles
// contain RoleOperator.
func (p Principal) IsOperator() bool { return p.Kind == KindOperator }

// principalKey is the context key of the Principal; being unexported, no
// other package can overwrite or forge the value.
type principalKey struct{}

// NewContextWithPrincipal returns a copy of ctx that carries p. The transport
// calls it once the request's token is verified.
func NewContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the Principal stored in ctx, and false when the
// request is unauthenticated (nothing was stored).
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
