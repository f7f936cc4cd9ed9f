package sender

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/transport"
)

// Platform is the platform's own sender identity, used in PLATFORM mode.
type Platform struct {
	// Name is shown as "<tenant> via <Name>".
	Name string
	// From is the platform's sender address.
	From string
}

// Service reads and changes tenants' sender settings. Every method called
// for a request takes the tenant from ctx (outbox.TenantFromContext).
type Service struct {
	store    *db.Store
	jobs     JobInserter
	keyring  *secret.Keyring
	platform Platform
	// testTimeout bounds each network step of a test send.
	testTimeout time.Duration
	// rootCAs, when not nil, replaces the system roots (tests use their own CA).
	rootCAs *x509.CertPool
	// addrs says which addresses test sends may connect to.
	addrs transport.AddrPolicy
	// plans are the entitlements of tenants an operator gave none.
	plans outbox.Entitlements
	// oauth hands out the access tokens of OAuth connections; nil: none.
	oauth OAuthTokens
	// domainSteps reports the From domain's records after a passed test.
	domainSteps func(ctx context.Context, fromEmail string) []transport.Step
}

// OAuthTokens is what sender settings need of OAuth connections;
// *oauth.Service is one.
type OAuthTokens interface {
	// Account returns the address of the tenant's CONNECTED connection id
	// of the sender key; EINVALID on smtp.oauthConnection otherwise.
	Account(ctx context.Context, tenantID uuid.UUID, sender string, id uuid.UUID) (string, error)
	// AccessToken returns a live access token of the connection and its
	// account's address; the error is a *transport.Failure.
	AccessToken(ctx context.Context, tenantID, id uuid.UUID) (token, email string, err error)
	// Forget drops a cached access token a server refused.
	Forget(id uuid.UUID)
}

// Options are the optional settings of a Service.
type Options struct {
	// TestTimeout bounds each network step of a test send. Default 10s.
	TestTimeout time.Duration
	// RootCAs replaces the system certificate roots; nil uses the system's.
	RootCAs *x509.CertPool
	// AddrPolicy says which addresses a tenant's host may resolve to; the
	// zero value allows all (OUTBOX_PRIVATE_NETWORKS).
	AddrPolicy transport.AddrPolicy
	// Plans are the entitlements of tenants an operator gave none; the zero
	// value allows every mode and DefaultMaxSenders senders.
	Plans outbox.Entitlements
	// OAuth hands out access tokens of OAuth connections; nil refuses
	// smtp.oauthConnection.
	OAuth OAuthTokens
	// DomainSteps, when set, adds steps to a passed test send: what DNS
	// says of the From domain (SPF, DKIM, DMARC), as warnings that never
	// fail the test (domains.Service.OwnDomainSteps).
	DomainSteps func(ctx context.Context, fromEmail string) []transport.Step
}

// DefaultMaxSenders is how many senders a tenant may have when neither its
// plan nor Options.Plans says.
const DefaultMaxSenders = 10

// NewService returns a Service storing settings in store, enqueueing test
// sends with jobs, and sealing secrets with keyring.
func NewService(store *db.Store, jobs JobInserter, keyring *secret.Keyring, platform Platform, opts Options) *Service {
	if opts.TestTimeout <= 0 {
		opts.TestTimeout = 10 * time.Second
	}
	if opts.Plans.Modes == nil {
		opts.Plans.Modes = []outbox.SenderMode{outbox.ModePlatform, outbox.ModeBranded, outbox.ModeSMTP, outbox.ModeHTTP}
	}
	if opts.Plans.MaxSenders <= 0 {
		opts.Plans.MaxSenders = DefaultMaxSenders
	}
	return &Service{
		store: store, jobs: jobs, keyring: keyring, platform: platform, testTimeout: opts.TestTimeout,
		rootCAs: opts.RootCAs, addrs: opts.AddrPolicy, plans: opts.Plans, oauth: opts.OAuth, domainSteps: opts.DomainSteps,
	}
}

// View is a sender's active settings as shown to the tenant: secrets
// replaced by whether they are set, the effective From identity filled in.
type View struct {
	Key  string
	Name string
	// OwnerSubject is the owner of a personal sender; "" for others.
	OwnerSubject string
	Settings
	// EffectiveMode is the mode mail goes out in: Mode, or PLATFORM while
	// the tenant's plan does not include Mode.
	EffectiveMode outbox.SenderMode
	PasswordSet   bool
	AuthValueSet  bool
	Health        Health
	Limits        Limits
	UpdatedAt     time.Time
}

// Current returns the active settings of the caller's tenant's sender key
// ("" for the default sender). Errors: EINVALID on "sender" for a key the
// tenant has no sender of.
func (s *Service) Current(ctx context.Context, key string) (View, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return View{}, err
	}
	stored, err := s.lookup(ctx, tenant, key)
	if err != nil {
		return View{}, err
	}
	return s.viewFrom(tenant, stored)
}

// Entitlements returns the tenant's plan: its own, or the defaults.
func (s *Service) Entitlements(tenant outbox.Tenant) outbox.Entitlements {
	return tenant.EntitlementsOr(s.plans)
}

// CheckEntitled returns an EFORBIDDEN error with ReasonNotEntitled when the
// tenant's plan does not include mode.
func (s *Service) CheckEntitled(tenant outbox.Tenant, mode outbox.SenderMode) error {
	if s.Entitlements(tenant).Allows(mode) {
		return nil
	}
	return outbox.NotEntitled("your plan does not include the %s mode: ask the platform to add it, or use the platform's sender", mode)
}

func (s *Service) viewFrom(tenant outbox.Tenant, row outbox.SenderSettings) (View, error) {
	v := View{
		Key: row.Key, Name: row.Name, OwnerSubject: row.OwnerSubject, EffectiveMode: row.Mode,
		Settings: Settings{
			Mode:          row.Mode,
			FromName:      row.FromName,
			FromEmail:     row.FromEmail,
			ReplyTo:       row.ReplyTo,
			ContactEmail:  row.ContactEmail,
			BCC:           row.BCC,
			ArchiveCopyTo: row.ArchiveCopyTo,
		},
		Health:    Health{OK: row.HealthOK, Status: HealthOK, Message: row.HealthMessage, Category: row.HealthCategory},
		UpdatedAt: row.UpdatedAt,
	}
	if !row.HealthOK {
		v.Health.Status = HealthFailing
	}
	if row.HealthUpdatedAt != nil {
		v.Health.UpdatedAt = *row.HealthUpdatedAt
	}
	if len(row.Transport) > 0 {
		var t storedTransport
		if err := json.Unmarshal(row.Transport, &t); err != nil {
			return View{}, fmt.Errorf("decoding stored transport: %w", err)
		}
		v.SMTP, v.HTTP = t.SMTP, t.HTTP
	}
	hasSecret := len(row.Secret.Data) > 0
	switch {
	case v.SMTP != nil:
		v.PasswordSet = hasSecret
		v.Limits = v.SMTP.Limits
		if !row.HealthOK && v.SMTP.OAuthConnection != "" && row.HealthCategory == outbox.CategoryAuthFailed {
			// The only credential is the grant: a refused login means
			// connecting the mailbox again.
			v.Health.Status = HealthNeedsReconnect
		}
		if preset, ok := PresetByKey(v.SMTP.Preset); ok {
			if l, err := EffectiveLimits(preset, v.SMTP.Limits); err == nil {
				v.Limits = l
			}
		}
	case v.HTTP != nil:
		v.AuthValueSet = hasSecret
		v.Limits = v.HTTP.Limits
		if preset, ok := HTTPPresetOf(v.HTTP.Provider); ok {
			if l, err := EffectiveHTTPLimits(preset, v.HTTP.Limits); err == nil {
				v.Limits = l
			}
		}
	}
	if !s.Entitlements(tenant).Allows(v.Mode) {
		v.EffectiveMode, v.Limits = outbox.ModePlatform, Limits{}
		v.Health = Health{
			Status: HealthNotEntitled, Category: outbox.CategoryConfig, UpdatedAt: v.Health.UpdatedAt,
			Message: fmt.Sprintf("your plan does not include the %s mode: this sender's mail goes out through the platform's sender until it does, and returns to these settings then, without a new test", v.Mode),
		}
	}
	if v.Mode == outbox.ModePlatform {
		v.FromName = s.PlatformDisplayName(tenant, row.FromName)
		v.FromEmail = s.platform.From
	}
	return v, nil
}

// OutgoingFrom is the From header a message sent through the sender in v
// gets: its own, or the platform's while the plan does not include its
// mode.
func (s *Service) OutgoingFrom(tenant outbox.Tenant, v View) string {
	if v.EffectiveMode != v.Mode {
		return mailaddr.Format(s.PlatformDisplayName(tenant, v.FromName), s.platform.From)
	}
	return mailaddr.Format(v.FromName, v.FromEmail)
}

// PlatformDisplayName is the display name of PLATFORM mode: "<name> via
// <platform>", where name is the tenant's chosen display name or its name.
func (s *Service) PlatformDisplayName(tenant outbox.Tenant, fromName string) string {
	name := fromName
	if name == "" {
		name = tenant.Name
	}
	return name + " via " + s.platform.Name
}

// storedTransport is the JSON of sender_settings.transport: the non-secret
// fields of the SMTP or HTTP transport. Secrets live sealed in their own column.
type storedTransport struct {
	SMTP *SMTP    `json:"smtp,omitempty"`
	HTTP *HTTPAPI `json:"http,omitempty"`
}
