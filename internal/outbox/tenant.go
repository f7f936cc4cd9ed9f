package outbox

import "github.com/google/uuid"

// Tenant is one shop, marketplace or sales tool of the platform. Slug is the
// `tenant` claim of its users' tokens; ID scopes every row of its data.
type Tenant struct {
	ID            uuid.UUID
	Slug          string
	Name          string
	RetentionDays int
}
