package outbox

import (
	"time"

	"github.com/google/uuid"
)

// Suppression is an address a tenant's mail (all of it, or its SUBSCRIPTION
// mail) no longer goes to.
type Suppression struct {
	// Email is the address, lower-cased.
	Email  string
	Reason SuppressionReason
	Scope  SuppressionScope
	// Detail is what suppressed it in words: for a bounce, the server's
	// reply; "" for none.
	Detail string
	// MessageID is the message whose delivery suppressed it; uuid.Nil for
	// none.
	MessageID uuid.UUID
	CreatedAt time.Time
}

// Blocks reports whether s stops mail of category c.
func (s SuppressionScope) Blocks(c TemplateCategory) bool {
	return s == ScopeAll || c.OrTransactional() == CategorySubscription
}

// SuppressionReason is why an address is suppressed.
type SuppressionReason string

// The suppression reasons.
const (
	// SuppressionBounce: a server said the mailbox does not exist.
	SuppressionBounce SuppressionReason = "BOUNCE"
	// SuppressionComplaint: the recipient reported the mail as spam.
	SuppressionComplaint SuppressionReason = "COMPLAINT"
	// SuppressionUnsubscribed: the recipient unsubscribed (List-Unsubscribe or
	// the unsubscribe page).
	SuppressionUnsubscribed SuppressionReason = "UNSUBSCRIBED"
	// SuppressionManual: a tenant admin added the address (addSuppression).
	SuppressionManual SuppressionReason = "MANUAL"
)

// SuppressionReasons are the valid reasons, in the schema's order.
var SuppressionReasons = []SuppressionReason{SuppressionBounce, SuppressionComplaint, SuppressionUnsubscribed, SuppressionManual}

// Scope returns the mail a suppression for r stops: SUBSCRIPTION mail for
// an unsubscribe, all mail for anything else.
func (r SuppressionReason) Scope() SuppressionScope {
	if r == SuppressionUnsubscribed {
		return ScopeSubscription
	}
	return ScopeAll
}

// SuppressionScope is which of a tenant's mail a suppression stops.
type SuppressionScope string

// The suppression scopes.
const (
	// ScopeAll stops all mail to the address.
	ScopeAll SuppressionScope = "ALL"
	// ScopeSubscription stops SUBSCRIPTION mail only; TRANSACTIONAL mail
	// is still delivered.
	ScopeSubscription SuppressionScope = "SUBSCRIPTION"
)
