package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

type tenantKey struct{}
type requestIDKey struct{}
type callerKey struct{}

// Caller is who makes a request, as the domain rules need to know it.
type Caller struct {
	// Subject is the token's subject: a user's sub, a partner's client id.
	Subject string
	// ManagesSenders is set for callers that may change every sender of
	// the tenant (admins, partners with settings:write); others may change
	// only the personal senders they own.
	ManagesSenders bool
}

// NewContextWithCaller returns ctx carrying the caller; the transport sets
// it beside the tenant.
func NewContextWithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns the caller, or the zero Caller (who owns and
// manages nothing) outside a request.
func CallerFromContext(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// NewContextWithTenant returns ctx carrying the tenant of the caller. Every
// domain call reads the tenant from here, never from its arguments.
func NewContextWithTenant(ctx context.Context, t Tenant) context.Context {
	return context.WithValue(ctx, tenantKey{}, t)
}

// TenantFromContext returns the caller's tenant and whether there is one.
func TenantFromContext(ctx context.Context) (Tenant, bool) {
	t, ok := ctx.Value(tenantKey{}).(Tenant)
	return t, ok
}

// RequireTenant returns the caller's tenant, or an EUNAUTHENTICATED error
// when the context carries none (a request that was not authenticated).
func RequireTenant(ctx context.Context) (Tenant, error) {
	t, ok := TenantFromContext(ctx)
	if !ok {
		return Tenant{}, Errorf(EUNAUTHENTICATED, "authentication required")
	}
	return t, nil
}

// NewContextWithRequestID returns ctx carrying the id that ties a request's
// logs, audit entries and error messages together.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the request id, or "" outside a request.
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a fresh random request id.
func NewRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
