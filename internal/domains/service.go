package domains

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/idna"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// DefaultCheckInterval is how often the periodic job re-checks a domain.
const DefaultCheckInterval = time.Hour

// Config is what the service is set up with.
type Config struct {
	Records
	// CheckInterval is how long a check holds before the periodic job
	// checks the domain again (OUTBOX_DOMAIN_CHECK_INTERVAL); zero is
	// DefaultCheckInterval.
	CheckInterval time.Duration
	// PlatformFrom is the platform's address, which unauthenticated BRANDED
	// mail is rewritten to.
	PlatformFrom string
	// PlatformSigned says that PLATFORM mail is DKIM-signed
	// (OUTBOX_PLATFORM_DKIM_KEY is set).
	PlatformSigned bool
	// SendUnauthenticated says that BRANDED mail from a domain that is not
	// VERIFIED goes out as it is (OUTBOX_BRANDED_UNAUTHENTICATED=send).
	SendUnauthenticated bool
}

// Service manages the sending domains of tenants. It is safe for
// concurrent use.
type Service struct {
	store   *db.Store
	keyring *secret.Keyring
	dns     txtLookup
	cfg     Config
	logger  *slog.Logger
	now     func() time.Time
}

// NewService returns the service over store, sealing keys with keyring and
// asking resolver.
func NewService(store *db.Store, keyring *secret.Keyring, resolver *Resolver, cfg Config, logger *slog.Logger) *Service {
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	return &Service{store: store, keyring: keyring, dns: resolver, cfg: cfg, logger: logger, now: time.Now}
}

// CheckInterval is how often a domain is re-checked.
func (s *Service) CheckInterval() time.Duration { return s.cfg.CheckInterval }

func keyAAD(tenantID uuid.UUID, domain string) []byte {
	return secret.AAD("dkim-key", tenantID.String(), domain)
}

// NormalizeDomain returns name as lower-case ASCII without a trailing dot
// (an IDN in its xn-- form); EINVALID on field "domain" when it is not a
// domain name of at least two labels.
func NormalizeDomain(name string) (string, error) {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	if name == "" {
		return "", outbox.Invalid("domain", "enter a domain such as shop.example")
	}
	if strings.Contains(name, "@") {
		return "", outbox.Invalid("domain", "enter the domain only (shop.example), not an address")
	}
	d, err := idna.Lookup.ToASCII(name)
	if err != nil || !strings.Contains(d, ".") || len(d) > 253 {
		return "", outbox.Invalid("domain", "%q is not a domain name", name)
	}
	return strings.ToLower(d), nil
}

// Add adds domain to the caller's tenant with a fresh DKIM key, returning it
// PENDING with the records to publish. Errors: EINVALID on "domain",
// ECONFLICT when the tenant has the domain already.
func (s *Service) Add(ctx context.Context, domain string) (outbox.SendingDomain, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	name, err := NormalizeDomain(domain)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	der, selector, err := newKey()
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	key, err := parseKey(der)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	p, err := publicValue(key)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	sealed, err := s.keyring.Seal(der, keyAAD(tenant.ID, name))
	if err != nil {
		return outbox.SendingDomain{}, fmt.Errorf("sealing a DKIM key: %w", err)
	}
	d := outbox.SendingDomain{
		TenantID: tenant.ID, Domain: name, Selector: selector, Key: outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data},
		Records: s.cfg.wanted(name, selector, p, "", ""),
	}
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		var ok bool
		d, ok, err = tx.SendingDomainInsert(ctx, d)
		if err != nil {
			return err
		}
		if !ok {
			return outbox.Errorf(outbox.ECONFLICT, "%s is a sending domain of this tenant already", name)
		}
		return audit.Record(ctx, tx, "sending_domain.add", name, nil, auditView(d))
	})
	return d, err
}

// List returns the caller's tenant's domains by name.
func (s *Service) List(ctx context.Context) ([]outbox.SendingDomain, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.SendingDomainList(ctx, tenant.ID)
}

// Check looks the records of the caller's tenant's domain id up in DNS now
// and returns the domain with the outcome. ENOTFOUND for an unknown id; a
// DNS server that does not answer is a wrapped (internal) error, and the
// domain keeps the outcome of its last check.
func (s *Service) Check(ctx context.Context, id uuid.UUID) (outbox.SendingDomain, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	return s.check(ctx, tenant, id)
}

// check runs one check of the domain id of tenant (in ctx) and records it:
// the records, the status (an audit entry when it changed) and, when the
// check saw a rotation's new key published, the switch to that key.
func (s *Service) check(ctx context.Context, tenant outbox.Tenant, id uuid.UUID) (outbox.SendingDomain, error) {
	d, err := s.store.SendingDomainGet(ctx, tenant.ID, id)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	want, err := s.wantedOf(d)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	// DNS is asked outside the transaction: it may take seconds.
	records, err := s.cfg.check(ctx, s.dns, d.Domain, want)
	if err != nil {
		return outbox.SendingDomain{}, fmt.Errorf("checking the DNS records of %s: %w", d.Domain, err)
	}
	var out outbox.SendingDomain
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		cur, err := tx.SendingDomainGetForUpdate(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		if cur.Selector != d.Selector || cur.PendingSelector != d.PendingSelector {
			out = cur // rotated meanwhile: the next check looks at the new keys
			return nil
		}
		before := cur.Status
		if pending := recordOf(records, true); pending != nil && pending.Status == outbox.RecordVerified {
			// The new key is published: it signs from now on, and the old
			// record may go.
			old := cur.Selector
			cur.Selector, cur.Key = cur.PendingSelector, cur.PendingKey
			cur.PendingSelector, cur.PendingKey = "", outbox.Sealed{}
			pending.Pending = false
			pending.Hint = fmt.Sprintf("signing with this key now; the old record %s may be removed", dkimName(old, cur.Domain))
			records = dropName(records, dkimName(old, cur.Domain))
			if cur, err = tx.SendingDomainSetKeys(ctx, cur, s.now()); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, "sending_domain.rotated", cur.Domain, map[string]string{"selector": old}, map[string]string{"selector": cur.Selector}); err != nil {
				return err
			}
		}
		cur.Records = records
		cur.Status = statusAfter(before, recordOf(records, false))
		if out, err = tx.SendingDomainSetChecked(ctx, cur, s.now()); err != nil {
			return err
		}
		if out.Status == before {
			return nil
		}
		// The change, its audit entry and its event are one transaction.
		if _, err := tx.TenantEventInsert(ctx, out.TenantID, outbox.EventDomainStatusChanged, out.ID.String(), map[string]any{
			"id": out.ID, "domain": out.Domain, "status": out.Status, "previousStatus": before, "at": s.now(),
		}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sending_domain.status", out.Domain, map[string]string{"status": string(before)}, map[string]string{"status": string(out.Status)})
	})
	return out, err
}

// statusAfter is a domain's status after a check that found dkim (the
// signing key's record): VERIFIED when it matches, else FAILED for a domain
// that was verified before and PENDING for one never verified.
func statusAfter(before outbox.DomainStatus, dkim *outbox.DNSRecord) outbox.DomainStatus {
	switch {
	case dkim != nil && dkim.Status == outbox.RecordVerified:
		return outbox.DomainVerified
	case before == outbox.DomainVerified || before == outbox.DomainFailed:
		return outbox.DomainFailed
	default:
		return outbox.DomainPending
	}
}

// recordOf returns the DKIM record of the signing key (pending false) or
// of a rotation's new key (pending true) in records, or nil.
func recordOf(records []outbox.DNSRecord, pending bool) *outbox.DNSRecord {
	for i := range records {
		if records[i].Purpose == outbox.PurposeDKIM && records[i].Pending == pending {
			return &records[i]
		}
	}
	return nil
}

// dropName returns records without the one named name.
func dropName(records []outbox.DNSRecord, name string) []outbox.DNSRecord {
	out := make([]outbox.DNSRecord, 0, len(records))
	for _, r := range records {
		if r.Name != name {
			out = append(out, r)
		}
	}
	return out
}

// wantedOf returns the records d asks for, from its keys.
func (s *Service) wantedOf(d outbox.SendingDomain) ([]outbox.DNSRecord, error) {
	p, err := s.publicOf(d, d.Key)
	if err != nil {
		return nil, err
	}
	var pendingP string
	if d.PendingSelector != "" {
		if pendingP, err = s.publicOf(d, d.PendingKey); err != nil {
			return nil, err
		}
	}
	return s.cfg.wanted(d.Domain, d.Selector, p, d.PendingSelector, pendingP), nil
}

func (s *Service) openKey(d outbox.SendingDomain, sealed outbox.Sealed) (*rsa.PrivateKey, error) {
	der, err := s.keyring.Open(secret.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}, keyAAD(d.TenantID, d.Domain))
	if err != nil {
		return nil, fmt.Errorf("opening the DKIM key of %s: %w", d.Domain, err)
	}
	return parseKey(der)
}

func (s *Service) publicOf(d outbox.SendingDomain, sealed outbox.Sealed) (string, error) {
	k, err := s.openKey(d, sealed)
	if err != nil {
		return "", err
	}
	return publicValue(k)
}

// Rotate makes a new DKIM key for the caller's tenant's domain id, shown as
// a pending DKIM record; the current key keeps signing until a check sees
// the new record published. ENOTFOUND for an unknown id; ECONFLICT while an
// earlier rotation waits for its record.
func (s *Service) Rotate(ctx context.Context, id uuid.UUID) (outbox.SendingDomain, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	der, selector, err := newKey()
	if err != nil {
		return outbox.SendingDomain{}, err
	}
	var out outbox.SendingDomain
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		d, err := tx.SendingDomainGetForUpdate(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		if d.PendingSelector != "" {
			return outbox.Errorf(outbox.ECONFLICT, "a new key (%s) waits to be published already: publish its record and check the domain", d.PendingSelector)
		}
		sealed, err := s.keyring.Seal(der, keyAAD(d.TenantID, d.Domain))
		if err != nil {
			return fmt.Errorf("sealing a DKIM key: %w", err)
		}
		d.PendingSelector, d.PendingKey = selector, outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}
		want, err := s.wantedOf(d)
		if err != nil {
			return err
		}
		// Keep what the last check found of the other records.
		for i := range want {
			if prev := sameRecord(d.Records, want[i]); prev != nil {
				want[i] = *prev
			}
		}
		d.Records = want
		if out, err = tx.SendingDomainSetKeys(ctx, d, s.now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sending_domain.rotate", d.Domain, map[string]string{"selector": d.Selector}, map[string]string{"pendingSelector": selector})
	})
	return out, err
}

func sameRecord(records []outbox.DNSRecord, r outbox.DNSRecord) *outbox.DNSRecord {
	for i := range records {
		if records[i].Purpose == r.Purpose && records[i].Name == r.Name && records[i].Value == r.Value {
			return &records[i]
		}
	}
	return nil
}

// Remove deletes the caller's tenant's domain id and its keys: its BRANDED
// mail is then rewritten to the platform address (or sent unsigned). It
// reports false for an unknown id.
func (s *Service) Remove(ctx context.Context, id uuid.UUID) (bool, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return false, err
	}
	var ok bool
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		d, err := tx.SendingDomainGetForUpdate(ctx, tenant.ID, id)
		if outbox.ErrorCode(err) == outbox.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if ok, err = tx.SendingDomainDelete(ctx, tenant.ID, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "sending_domain.remove", d.Domain, auditView(d), nil)
	})
	return ok, err
}

// CheckDue checks up to limit domains of any tenant not checked for the
// check interval, returning how many it checked. A domain whose check fails
// is logged and skipped; the error is the first such failure, after the
// others were tried.
func (s *Service) CheckDue(ctx context.Context, limit int) (int, error) {
	due, err := s.store.SendingDomainsDue(ctx, s.now().Add(-s.cfg.CheckInterval), limit)
	if err != nil {
		return 0, err
	}
	var first error
	n := 0
	for _, ref := range due {
		var tenant outbox.Tenant
		err := s.store.InTx(ctx, func(tx *db.Tx) error {
			var err error
			tenant, err = tx.TenantGetByID(ctx, ref.TenantID)
			return err
		})
		if err == nil {
			_, err = s.check(outbox.NewContextWithTenant(ctx, tenant), tenant, ref.ID)
		}
		if err != nil {
			if outbox.ErrorCode(err) == outbox.ENOTFOUND {
				continue // removed meanwhile
			}
			s.logger.WarnContext(ctx, "checking a sending domain", "tenant", ref.TenantID, "domain", ref.ID, "error", err)
			first = errors.Join(first, err)
			continue
		}
		n++
	}
	return n, first
}

// Signer returns the DKIM signer of tenantID's VERIFIED sending domain for
// mail From domain (lower-case ASCII): domain itself, else the nearest parent
// domain the tenant has (d=shop.example aligns with From
// mail.shop.example under DMARC's relaxed alignment). It returns nil when
// the tenant has no such domain or it is not VERIFIED, and fails when the
// database fails or the key does not open.
func (s *Service) Signer(ctx context.Context, tenantID uuid.UUID, domain string) (*Signer, error) {
	d, err := s.sendingDomainFor(ctx, tenantID, domain)
	if err != nil || d == nil || d.Status != outbox.DomainVerified {
		return nil, err
	}
	k, err := s.openKey(*d, d.Key)
	if err != nil {
		return nil, err
	}
	return &Signer{Domain: d.Domain, Selector: d.Selector, key: k}, nil
}

// Status returns the status of the tenant's sending domain for mail From
// domain (as Signer finds it), or "" when the tenant has none.
func (s *Service) Status(ctx context.Context, tenantID uuid.UUID, domain string) (outbox.DomainStatus, error) {
	d, err := s.sendingDomainFor(ctx, tenantID, domain)
	if err != nil || d == nil {
		return "", err
	}
	return d.Status, nil
}

// sendingDomainFor returns the tenant's sending domain that is domain or
// its nearest parent (of at least two labels), or nil.
func (s *Service) sendingDomainFor(ctx context.Context, tenantID uuid.UUID, domain string) (*outbox.SendingDomain, error) {
	name := strings.ToLower(domain)
	for strings.Count(name, ".") >= 1 {
		d, err := s.store.SendingDomainGetByName(ctx, tenantID, name)
		if err == nil {
			return &d, nil
		}
		if outbox.ErrorCode(err) != outbox.ENOTFOUND {
			return nil, err
		}
		_, name, _ = strings.Cut(name, ".")
	}
	return nil, nil
}

// DMARCPolicy returns the p= of domain's DMARC record, or "" for none.
func (s *Service) DMARCPolicy(ctx context.Context, domain string) (string, error) {
	return DMARCPolicy(ctx, s.dns, domain)
}

// auditView is what the audit log keeps of a domain: no key material.
func auditView(d outbox.SendingDomain) map[string]string {
	return map[string]string{"domain": d.Domain, "status": string(d.Status), "selector": d.Selector}
}

// CheckJobArgs is the River job that checks the domains due for a check.
type CheckJobArgs struct{}

// Kind names the job in River.
func (CheckJobArgs) Kind() string { return "sending_domain_check" }

// CheckBatch is how many domains one run of the job checks at most; the
// next run goes on with the rest.
const CheckBatch = 500
