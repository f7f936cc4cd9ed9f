package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

// TestSendersOwn: members and admins may work on senders (the sender
// service then decides which), partners only with settings:write,
// operators never; a partner's refusal names the scope it lacks.
func TestSendersOwn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		p    Principal
		ok   bool
		msg  string
	}{
		{"member", Principal{Kind: KindUser, Subject: "u1", Tenant: "acme", Roles: []string{RoleMember}}, true, ""},
		{"admin", Principal{Kind: KindUser, Subject: "u2", Tenant: "acme", Roles: []string{RoleAdmin}}, true, ""},
		{"user without roles", Principal{Kind: KindUser, Subject: "u3", Tenant: "acme"}, false, "senders:own requires the member or admin role"},
		{"partner with settings:write", Principal{Kind: KindPartner, Subject: "c1", Tenant: "acme", Scopes: []Scope{ScopeSettingsWrite}}, true, ""},
		{"partner with settings:read", Principal{Kind: KindPartner, Subject: "c2", Tenant: "acme", Scopes: []Scope{ScopeSettingsRead, ScopeMessagesSend}}, false, "lacks the scope settings:write"},
		{"partner with the permission's name as a scope", Principal{Kind: KindPartner, Subject: "c3", Tenant: "acme", Scopes: []Scope{Scope(PermSendersOwn)}}, false, "lacks the scope settings:write"},
		{"operator", Principal{Kind: KindOperator, Subject: "op1", Roles: []string{RoleOperator}}, false, "not available to platform operators"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.ok, tc.p.Can(PermSendersOwn), tc.name)
		_, err := Require(NewContextWithPrincipal(context.Background(), tc.p), PermSendersOwn)
		if tc.ok {
			require.NoError(t, err, tc.name)
			continue
		}
		require.Equal(t, outbox.EFORBIDDEN, outbox.ErrorCode(err), tc.name)
		require.Contains(t, err.Error(), tc.msg, tc.name)
	}
	// An operator holds no permission inside a tenant at all.
	op := Principal{Kind: KindOperator, Subject: "op1", Roles: []string{RoleOperator}}
	for _, perm := range []Permission{PermSettingsRead, PermSettingsWrite, PermMessagesSend, PermLogsRead, PermTemplatesWrite, PermPartnersManage, PermAuditRead, PermSendersOwn} {
		require.False(t, op.Can(perm), perm)
	}
}
