package outbox

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Tenant is one shop, marketplace or sales tool of the platform. Slug is the
// `tenant` claim of its users' tokens; ID scopes every row of its data.
type Tenant struct {
	ID            uuid.UUID
	Slug          string
	Name          string
	RetentionDays int
	// Entitlements are the tenant's plan as an operator set it; nil while
	// the tenant is on the configured defaults (see EntitlementsOr).
	Entitlements *Entitlements
	Status       TenantStatus
	// StatusReason says why the tenant is paused; "" when active.
	StatusReason string
	// StatusChangedAt is when it was last paused or reinstated; nil if never.
	StatusChangedAt *time.Time
	CreatedAt       time.Time
}

// TenantStatus says whether a tenant's mail goes out.
type TenantStatus string

// The statuses of a tenant.
const (
	TenantActive TenantStatus = "ACTIVE"
	// TenantPaused holds the tenant's messages back (QUEUED, no attempt
	// spent) until an operator reinstates it.
	TenantPaused TenantStatus = "PAUSED"
)

// Entitlements are what a tenant's plan allows: the sender modes it may
// use (PLATFORM always among them: it is where every other mode falls back
// to), how many senders it may have, and how many notifications it may
// queue per UTC day (nil: no quota).
type Entitlements struct {
	Modes      []SenderMode `json:"modes"`
	MaxSenders int          `json:"maxSenders"`
	DailyQuota *int         `json:"dailyQuota"`
}

// Allows reports whether the plan includes mode. PLATFORM is always
// included.
func (e Entitlements) Allows(mode SenderMode) bool {
	return mode == ModePlatform || slices.Contains(e.Modes, mode)
}

// EntitlementsOr returns the tenant's entitlements, or def when an operator
// never set them.
func (t Tenant) EntitlementsOr(def Entitlements) Entitlements {
	if t.Entitlements != nil {
		return *t.Entitlements
	}
	return def
}
