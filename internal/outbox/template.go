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
	// Category says whether the mail is TRANSACTIONAL or SUBSCRIPTION (it
	// then carries one-click unsubscribe); "" is TRANSACTIONAL.
	Category TemplateCategory
	// BuiltIn says that this is the built-in default of its key, not a
	// template the tenant saved.
	BuiltIn bool
	// UpdatedAt is when the tenant last saved it; nil for a built-in.
	UpdatedAt *time.Time
}

// TemplateCategory is what kind of mail a template makes.
type TemplateCategory string

// The template categories.
const (
	// CategoryTransactional is mail a recipient needs because of something
	// they did (an order confirmation, a password reset): never stopped by
	// an unsubscribe.
	CategoryTransactional TemplateCategory = "TRANSACTIONAL"
	// CategorySubscription is mail a recipient may stop (a newsletter, a
	// back-in-stock alert): it carries List-Unsubscribe, and an
	// unsubscribed address does not get it.
	CategorySubscription TemplateCategory = "SUBSCRIPTION"
)

// OrTransactional returns c, or CategoryTransactional when c is "".
func (c TemplateCategory) OrTransactional() TemplateCategory {
	if c == "" {
		return CategoryTransactional
	}
	return c
}
