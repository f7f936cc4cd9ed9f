package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func TestPrincipalContext(t *testing.T) {
	t.Parallel()

	_, ok := PrincipalFromContext(context.Background())
	require.False(t, ok)

	want := Principal{Kind: KindUser, Subject: "user-1", Tenant: "acme", Roles: []string{RoleAdmin}}
	got, ok := PrincipalFromContext(NewContextWithPrincipal(context.Background(), want))
	require.True(t, ok)
	require.Equal(t, want, got)
}

func TestRequire(t *testing.T) {
	t.Parallel()

	admin := Principal{Kind: KindUser, Subject: "u1", Tenant: "acme", Roles: []string{RoleAdmin}}
	member := Principal{Kind: KindUser, Subject: "u2", Tenant: "acme", Roles: []string{RoleMember}}
	noRoles := Principal{Kind: KindUser, Subject: "u3", Tenant: "acme"}
	unknownRole := Principal{Kind: KindUser, Subject: "u4", Tenant: "acme", Roles: []string{"owner"}}
	partner := Principal{Kind: KindPartner, Subject: "c1", ClientID: "c1", Tenant: "acme",
		Scopes: []Scope{ScopeMessagesSend, ScopeLogsRead}}
	// A scope string naming an internal permission grants nothing, even if
	// a store were to hold it.
	sneaky := Principal{Kind: KindPartner, Subject: "c2", ClientID: "c2", Tenant: "acme",
		Scopes: []Scope{Scope(PermTemplatesWrite), Scope(PermPartnersManage)}}
	operator := Principal{Kind: KindOperator, Subject: "op1", Roles: []string{RoleOperator}}
	// Only the verifier makes operators: a user that somehow carries the
	// operator role, or a partner holding the permission as a scope string,
	// gains nothing.
	userWithOperatorRole := Principal{Kind: KindUser, Subject: "u5", Tenant: "acme", Roles: []string{RoleOperator, RoleAdmin}}
	partnerWithOperate := Principal{Kind: KindPartner, Subject: "c3", ClientID: "c3", Tenant: "acme",
		Scopes: []Scope{Scope(PermOperate)}}

	tests := []struct {
		name      string
		principal *Principal // nil: no principal in the context
		perm      Permission
		code      outbox.Code // empty: allowed
		message   string
	}{
		{"no principal", nil, PermLogsRead, outbox.EUNAUTHENTICATED, "authentication required"},
		{"zero principal", &Principal{}, PermLogsRead, outbox.EUNAUTHENTICATED, "authentication required"},

		{"admin settings:read", &admin, PermSettingsRead, "", ""},
		{"admin settings:write", &admin, PermSettingsWrite, "", ""},
		{"admin messages:send", &admin, PermMessagesSend, "", ""},
		{"admin logs:read", &admin, PermLogsRead, "", ""},
		{"admin templates:write", &admin, PermTemplatesWrite, "", ""},
		{"admin partners:manage", &admin, PermPartnersManage, "", ""},
		{"admin reputation:read", &admin, PermReputationRead, "", ""},
		{"member reputation:read", &member, PermReputationRead, outbox.EFORBIDDEN, "reputation:read requires the admin role"},
		{"partner reputation:read", &partner, PermReputationRead, outbox.EFORBIDDEN, "reputation:read is not available to partner clients"},
		{"operator reputation:read", &operator, PermReputationRead, outbox.EFORBIDDEN, "reputation:read is not available to platform operators"},
		{"admin unknown permission", &admin, Permission("billing:write"), outbox.EFORBIDDEN, `unknown permission "billing:write"`},

		{"member settings:read", &member, PermSettingsRead, "", ""},
		{"member messages:send", &member, PermMessagesSend, "", ""},
		{"member logs:read", &member, PermLogsRead, "", ""},
		{"member settings:write", &member, PermSettingsWrite, outbox.EFORBIDDEN, "settings:write requires the admin role"},
		{"member templates:write", &member, PermTemplatesWrite, outbox.EFORBIDDEN, "templates:write requires the admin role"},
		{"member partners:manage", &member, PermPartnersManage, outbox.EFORBIDDEN, "partners:manage requires the admin role"},

		{"no roles logs:read", &noRoles, PermLogsRead, outbox.EFORBIDDEN, "logs:read requires the member or admin role"},
		{"unknown role logs:read", &unknownRole, PermLogsRead, outbox.EFORBIDDEN, "logs:read requires the member or admin role"},

		{"partner messages:send", &partner, PermMessagesSend, "", ""},
		{"partner logs:read", &partner, PermLogsRead, "", ""},
		{"partner settings:read", &partner, PermSettingsRead, outbox.EFORBIDDEN, "the partner client lacks the scope settings:read"},
		{"partner settings:write", &partner, PermSettingsWrite, outbox.EFORBIDDEN, "the partner client lacks the scope settings:write"},
		{"partner templates:write", &partner, PermTemplatesWrite, outbox.EFORBIDDEN, "templates:write is not available to partner clients"},
		{"partner partners:manage", &partner, PermPartnersManage, outbox.EFORBIDDEN, "partners:manage is not available to partner clients"},
		{"partner with internal scope strings", &sneaky, PermTemplatesWrite, outbox.EFORBIDDEN, "templates:write is not available to partner clients"},
		{"partner with internal scope strings manage", &sneaky, PermPartnersManage, outbox.EFORBIDDEN, "partners:manage is not available to partner clients"},

		{"operator platform:operate", &operator, PermOperate, "", ""},
		{"operator settings:read", &operator, PermSettingsRead, outbox.EFORBIDDEN, "settings:read is not available to platform operators"},
		{"operator settings:write", &operator, PermSettingsWrite, outbox.EFORBIDDEN, "settings:write is not available to platform operators"},
		{"operator messages:send", &operator, PermMessagesSend, outbox.EFORBIDDEN, "messages:send is not available to platform operators"},
		{"operator logs:read", &operator, PermLogsRead, outbox.EFORBIDDEN, "logs:read is not available to platform operators"},
		{"operator templates:write", &operator, PermTemplatesWrite, outbox.EFORBIDDEN, "templates:write is not available to platform operators"},
		{"operator partners:manage", &operator, PermPartnersManage, outbox.EFORBIDDEN, "partners:manage is not available to platform operators"},
		{"operator audit:read", &operator, PermAuditRead, outbox.EFORBIDDEN, "audit:read is not available to platform operators"},
		{"operator unknown permission", &operator, Permission("billing:write"), outbox.EFORBIDDEN, `unknown permission "billing:write"`},
		{"admin platform:operate", &admin, PermOperate, outbox.EFORBIDDEN, "platform:operate requires a platform operator token"},
		{"member platform:operate", &member, PermOperate, outbox.EFORBIDDEN, "platform:operate requires a platform operator token"},
		{"user with operator role platform:operate", &userWithOperatorRole, PermOperate, outbox.EFORBIDDEN, "platform:operate requires a platform operator token"},
		{"partner platform:operate", &partner, PermOperate, outbox.EFORBIDDEN, "platform:operate is not available to partner clients"},
		{"partner with operate scope string", &partnerWithOperate, PermOperate, outbox.EFORBIDDEN, "platform:operate is not available to partner clients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tt.principal != nil {
				ctx = NewContextWithPrincipal(ctx, *tt.principal)
			}
			p, err := Require(ctx, tt.perm)
			if tt.code == "" {
				require.NoError(t, err)
				require.Equal(t, *tt.principal, p)
				require.True(t, p.Can(tt.perm))
				return
			}
			require.Equal(t, tt.code, outbox.ErrorCode(err))
			require.Equal(t, tt.message, outbox.AsError(err).Message)
			require.Equal(t, Principal{}, p)
		})
	}
}

// TestOperatorIsNoTenantUser: an operator is told apart from a tenant's
// user by its kind, and acts for no tenant.
func TestOperatorIsNoTenantUser(t *testing.T) {
	t.Parallel()
	operator := Principal{Kind: KindOperator, Subject: "op1", Roles: []string{RoleOperator}}
	require.True(t, operator.IsOperator())
	require.Empty(t, operator.Tenant)
	for _, p := range []Principal{
		{},
		{Kind: KindUser, Subject: "u1", Tenant: "acme", Roles: []string{RoleAdmin}},
		{Kind: KindUser, Subject: "u2", Tenant: "acme", Roles: []string{RoleOperator}},
		{Kind: KindPartner, Subject: "c1", ClientID: "c1", Tenant: "acme"},
	} {
		require.False(t, p.IsOperator(), "%+v", p)
		require.False(t, p.Can(PermOperate), "%+v", p)
	}
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	for _, s := range []Scope{ScopeSettingsRead, ScopeSettingsWrite, ScopeMessagesSend, ScopeLogsRead} {
		got, err := ParseScope(string(s))
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	for _, s := range []string{"", "admin", string(PermTemplatesWrite), string(PermPartnersManage), string(PermOperate), "Logs:Read"} {
		_, err := ParseScope(s)
		e := outbox.AsError(err)
		require.NotNil(t, e, s)
		require.Equal(t, outbox.EINVALID, e.Code)
		require.Equal(t, "scopes", e.Field)
	}
}
