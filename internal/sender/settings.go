package sender

import (
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// Settings is how one tenant's mail is sent: the identity every message carries
// and, for the SMTP and HTTP modes, the transport that carries it. The same type
// holds a draft under test and the saved, active settings.
type Settings struct {
	Mode          outbox.SenderMode
	FromName      string
	FromEmail     string
	ReplyTo       string
	ContactEmail  string
	BCC           []string
	ArchiveCopyTo string

	SMTP *SMTP
	HTTP *HTTPAPI
}

// SMTP is a tenant's own SMTP server. Password is the plaintext secret; it is
// only ever filled in memory: it never goes into JSON (sealed at rest in its
// own column) and is never returned to a caller.
type SMTP struct {
	Preset        string
	Host          string
	Port          int
	Security      outbox.SMTPSecurity
	Auth          outbox.SMTPAuth
	Username      string
	Password      string `json:"-"`
	SkipTLSVerify bool
	// OAuthConnection, with Auth XOAUTH2, is the id of a CONNECTED OAuth
	// connection of the sender: every send fetches an access token from it
	// (Username is its account, Password stays empty).
	OAuthConnection string `json:",omitempty"`
	// Limits are the tenant's own limits; zero fields take the preset's.
	Limits Limits
}

// HTTPAPI is a tenant's HTTP mail API. With Provider GENERIC Outbox POSTs a
// JSON body of its own to URL with the header AuthHeader: AuthValue; with
// another provider it speaks that provider's send API, AuthValue being the
// API key (Postmark: the server token; SES: the secret access key) and URL
// an optional override of the provider's base URL. AuthValue is a secret
// like an SMTP password.
type HTTPAPI struct {
	// Provider is GENERIC once normalized; settings stored before providers
	// existed decode with "" and mean GENERIC.
	Provider   outbox.HTTPProvider
	URL        string
	AuthHeader string
	AuthValue  string `json:"-"`
	// Domain is the Mailgun sending domain (A-label form).
	Domain string `json:",omitempty"`
	// Region is Mailgun's US or EU, or SES's AWS region ("eu-west-1").
	Region string `json:",omitempty"`
	// AccessKeyID is the SES access key id (not a secret).
	AccessKeyID string `json:",omitempty"`
	Limits      Limits
}

// IsGeneric reports whether c speaks Outbox's own JSON.
func (c *HTTPAPI) IsGeneric() bool {
	return c.Provider == "" || c.Provider == outbox.HTTPGeneric
}

// Limits are sending limits of one sending account. Zero means "no limit".
type Limits struct {
	PerSecond            int
	PerMinute            int
	PerHour              int
	PerDay               int
	RecipientsPerDay     int
	RecipientsPerMessage int
}

// Health says whether a sender's saved settings work, as far as the last
// deliveries could tell, or that the tenant's plan does not include its
// mode.
type Health struct {
	OK bool
	// Status is HealthOK, HealthFailing, HealthNotEntitled or
	// HealthNeedsReconnect.
	Status    HealthStatus
	Message   string
	Category  outbox.ErrorCategory
	UpdatedAt time.Time
}

// HealthStatus names the state of a sender's health.
type HealthStatus string

// The health states.
const (
	HealthOK HealthStatus = "OK"
	// HealthFailing: the latest deliveries failed in a way the tenant has
	// to fix (Category and Message say how).
	HealthFailing HealthStatus = "FAILING"
	// HealthNotEntitled: the plan does not include the sender's mode, so
	// its mail goes out through the platform's sender until it does.
	HealthNotEntitled HealthStatus = "NOT_ENTITLED"
	// HealthNeedsReconnect: the sender sends with an OAuth connection the
	// provider no longer accepts (or that was disconnected): connect the
	// mailbox again, test and save.
	HealthNeedsReconnect HealthStatus = "NEEDS_RECONNECT"
)
