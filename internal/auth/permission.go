package auth

import (
	"context"
	"slices"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// Scope is a permission a tenant admin can grant to a partner client. The
// values are the strings of PartnerClientInput.scopes.
type Scope string

// The scopes a partner client can hold.
const (
	ScopeSettingsRead  Scope = "settings:read"
	ScopeSettingsWrite Scope = "settings:write"
	ScopeMessagesSend  Scope = "messages:send"
	ScopeLogsRead      Scope = "logs:read"
	// ScopeWebhooksManage allows managing webhook endpoints and reading and
	// replaying their deliveries.
	ScopeWebhooksManage Scope = "webhooks:manage"
)

// scopes lists every Scope, in the order error messages name them.
func scopes() []Scope {
	return []Scope{ScopeSettingsRead, ScopeSettingsWrite, ScopeMessagesSend, ScopeLogsRead, ScopeWebhooksManage}
}

// ParseScope returns the Scope named s, for partner registration. It returns
// an outbox.Invalid error on field "scopes" when s is not a scope a partner
// may hold; internal permissions such as templates:write are not.
func ParseScope(s string) (Scope, error) {
	if slices.Contains(scopes(), Scope(s)) {
		return Scope(s), nil
	}
	names := make([]string, 0, len(scopes()))
	for _, sc := range scopes() {
		names = append(names, string(sc))
	}
	return "", outbox.Invalid("scopes", "unknown scope %q; a partner can hold %s", s, strings.Join(names, ", "))
}

// Permission is something a caller may be allowed to do. The first five are
// the scopes; the others are internal and never granted to a partner.
type Permission string

// The permissions @requires names in schema.graphql.
const (
	PermSettingsRead  = Permission(ScopeSettingsRead)
	PermSettingsWrite = Permission(ScopeSettingsWrite)
	PermMessagesSend  = Permission(ScopeMessagesSend)
	PermLogsRead      = Permission(ScopeLogsRead)
	// PermWebhooksManage: admins, and partners with webhooks:manage.
	PermWebhooksManage = Permission(ScopeWebhooksManage)
	// PermTemplatesWrite allows creating and changing templates.
	PermTemplatesWrite Permission = "templates:write"
	// PermPartnersManage allows registering and revoking partner clients,
	// which would otherwise let a partner mint itself more access.
	PermPartnersManage Permission = "partners:manage"
	// PermAuditRead allows reading the audit log.
	PermAuditRead Permission = "audit:read"
	// PermReputationRead allows reading the tenant's reputation on the
	// platform relay (Tenant.reputation). Admins hold it; operators read
	// it on the tenants they list, which the resolver lets them.
	PermReputationRead Permission = "reputation:read"
	// PermSendersOwn allows creating, testing, saving and deleting senders:
	// every sender of the tenant for a caller who also holds
	// PermSettingsWrite, only personal senders of its own otherwise (the
	// sender service checks which). Members and admins hold it, and
	// partners with settings:write.
	PermSendersOwn Permission = "senders:own"
	// PermOperate allows the platform operations on tenants as a whole
	// (listing them, setting their entitlements, pausing and reinstating
	// them). Only operators hold it, and they hold nothing else.
	PermOperate Permission = "platform:operate"
)

// known reports whether perm is one of the permissions above; an unknown one
// (a typo at a call site) is granted to nobody, not even an admin.
func (perm Permission) known() bool {
	return perm.inTenant() || perm == PermOperate
}

// inTenant reports whether perm is about things inside one tenant: every
// known permission but PermOperate. Users and partners may hold these,
// operators never.
func (perm Permission) inTenant() bool {
	switch perm {
	case PermSettingsRead, PermSettingsWrite, PermMessagesSend, PermLogsRead, PermWebhooksManage,
		PermTemplatesWrite, PermPartnersManage, PermAuditRead, PermSendersOwn, PermReputationRead:
		return true
	}
	return false
}

// partnerGrantable reports whether perm can be held by a partner as a scope.
func (perm Permission) partnerGrantable() bool {
	return slices.Contains(scopes(), Scope(perm))
}

// The roles a platform user token may carry in its `roles` claim.
const (
	// RoleAdmin manages sender settings, templates and partner clients, and
	// may do everything a member may.
	RoleAdmin = "admin"
	// RoleMember reads settings and logs and sends notifications.
	RoleMember = "member"
	// RoleOperator makes the token's bearer a platform operator
	// (KindOperator): no tenant claim is needed, any is ignored, and so are
	// the token's other roles.
	RoleOperator = "operator"
)

// roles lists the roles of a tenant's users from least to most powerful,
// the order error messages name them in. RoleOperator is not among them: it
// makes no tenant user at all.
func roles() []string {
	return []string{RoleMember, RoleAdmin}
}

// knownRole reports whether a token's roles claim may name role.
func knownRole(role string) bool {
	return role == RoleOperator || slices.Contains(roles(), role)
}

// roleGrants reports whether role includes perm for a user of a tenant.
func roleGrants(role string, perm Permission) bool {
	switch role {
	case RoleAdmin:
		return perm.inTenant()
	case RoleMember:
		return perm == PermSettingsRead || perm == PermLogsRead || perm == PermMessagesSend || perm == PermSendersOwn
	}
	return false
}

// Can reports whether p may do perm: a user through one of its roles, a
// partner through one of its scopes, an operator only PermOperate. A zero
// Principal can do nothing.
func (p Principal) Can(perm Permission) bool {
	switch p.Kind {
	case KindOperator:
		return perm == PermOperate
	case KindUser:
		return slices.ContainsFunc(p.Roles, func(role string) bool { return roleGrants(role, perm) })
	case KindPartner:
		if perm == PermSendersOwn {
			return slices.Contains(p.Scopes, ScopeSettingsWrite)
		}
		return perm.partnerGrantable() && slices.Contains(p.Scopes, Scope(perm))
	}
	return false
}

// Require returns the caller stored in ctx when it may do perm. It returns an
// *outbox.Error with code EUNAUTHENTICATED when ctx holds no caller, and with
// code EFORBIDDEN, naming the role or scope that is missing, when the caller
// may not.
func Require(ctx context.Context, perm Permission) (Principal, error) {
	p, ok := PrincipalFromContext(ctx)
	if !ok || (p.Kind != KindUser && p.Kind != KindPartner && p.Kind != KindOperator) {
		return Principal{}, outbox.Errorf(outbox.EUNAUTHENTICATED, "authentication required")
	}
	if p.Can(perm) {
		return p, nil
	}
	return Principal{}, forbidden(p.Kind, perm)
}

// forbidden explains what a caller of kind would need to do perm.
func forbidden(kind Kind, perm Permission) *outbox.Error {
	switch {
	case !perm.known():
		return outbox.Errorf(outbox.EFORBIDDEN, "unknown permission %q", perm)
	case kind == KindPartner && perm == PermSendersOwn:
		return outbox.Errorf(outbox.EFORBIDDEN, "the partner client lacks the scope %s", ScopeSettingsWrite)
	case kind == KindPartner && !perm.partnerGrantable():
		return outbox.Errorf(outbox.EFORBIDDEN, "%s is not available to partner clients", perm)
	case kind == KindPartner:
		return outbox.Errorf(outbox.EFORBIDDEN, "the partner client lacks the scope %s", perm)
	case kind == KindOperator:
		return outbox.Errorf(outbox.EFORBIDDEN, "%s is not available to platform operators", perm)
	case perm == PermOperate:
		return outbox.Errorf(outbox.EFORBIDDEN, "%s requires a platform operator token", perm)
	}
	var granting []string
	for _, role := range roles() {
		if roleGrants(role, perm) {
			granting = append(granting, role)
		}
	}
	return outbox.Errorf(outbox.EFORBIDDEN, "%s requires the %s role", perm, strings.Join(granting, " or "))
}
