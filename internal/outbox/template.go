package outbox

import "time"

// Template is the subject, text and HTML of one event key of a tenant's
// notifications. Each is Go template source; Text or HTML may be empty,
// not both.
type Template struct {
	Key     string
	Subject string
	Text    string
	HTML    string
	// BuiltIn says that this is the built-in default of its key, not a
	// template the tenant saved.
	BuiltIn bool
	// UpdatedAt is when the tenant last saved it; nil for a built-in.
	UpdatedAt *time.Time
}
