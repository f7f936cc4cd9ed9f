package graph

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/auth"
)

// TestRequiresGuardsSubscriptions runs subscription operations through the
// executable schema: the @requires directive must refuse them before the
// resolver runs, exactly as it does for queries. The resolver has no
// services here, so reaching it shows as another error than the
// directive's.
func TestRequiresGuardsSubscriptions(t *testing.T) {
	t.Parallel()
	exec := executor.New(NewExecutableSchema(Config{Resolvers: &Resolver{}, Directives: DirectiveRoot{Requires: requires}}))
	exec.SetErrorPresenter(errorPresenter(slog.New(slog.DiscardHandler)))
	exec.SetRecoverFunc(recoverFunc)
	soon := time.Now().Add(time.Hour)
	partner := func(scopes ...auth.Scope) *auth.Principal {
		return &auth.Principal{Kind: auth.KindPartner, Subject: "client", Tenant: "acme", Scopes: scopes, ClientID: "client", ExpiresAt: soon}
	}
	member := &auth.Principal{Kind: auth.KindUser, Subject: "u", Tenant: "acme", Roles: []string{auth.RoleMember}, ExpiresAt: soon}
	const (
		messageUpdated = `subscription { messageUpdated(id: "not-an-id") { id } }`
		messageEvents  = `subscription { messageEvents { id } }`
		testUpdated    = `subscription { senderTestUpdated(id: "not-an-id") { id } }`
	)
	for _, tc := range []struct {
		name      string
		caller    *auth.Principal
		operation string
		code      string
	}{
		{"anonymous messageUpdated", nil, messageUpdated, "UNAUTHENTICATED"},
		{"anonymous messageEvents", nil, messageEvents, "UNAUTHENTICATED"},
		{"anonymous senderTestUpdated", nil, testUpdated, "UNAUTHENTICATED"},
		{"messageUpdated without logs:read", partner(auth.ScopeMessagesSend, auth.ScopeSettingsRead), messageUpdated, "FORBIDDEN"},
		{"messageEvents without logs:read", partner(auth.ScopeMessagesSend, auth.ScopeSettingsRead), messageEvents, "FORBIDDEN"},
		{"senderTestUpdated without settings:read", partner(auth.ScopeLogsRead), testUpdated, "FORBIDDEN"},
		// Allowed callers get past the directive to the resolver, which
		// reports the malformed id as an unknown one.
		{"messageUpdated with logs:read", partner(auth.ScopeLogsRead), messageUpdated, "NOT_FOUND"},
		{"senderTestUpdated with settings:read", partner(auth.ScopeSettingsRead), testUpdated, "NOT_FOUND"},
		{"member messageUpdated", member, messageUpdated, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := graphql.StartOperationTrace(context.Background())
			if tc.caller != nil {
				ctx = auth.NewContextWithPrincipal(ctx, *tc.caller)
			}
			rc, errs := exec.CreateOperationContext(ctx, &graphql.RawParams{Query: tc.operation})
			require.Empty(t, errs)
			ctx = graphql.WithOperationContext(ctx, rc)
			responses, ctx := exec.DispatchOperation(ctx, rc)
			resp := responses(ctx)
			require.NotNil(t, resp)
			require.Len(t, resp.Errors, 1, "%s", resp.Data)
			require.Equal(t, tc.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
		})
	}
}
