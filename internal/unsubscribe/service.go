package unsubscribe

import (
	"context"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// Header names of RFC 2369 and RFC 8058.
const (
	HeaderListUnsubscribe     = "List-Unsubscribe"
	HeaderListUnsubscribePost = "List-Unsubscribe-Post"
	// OneClick is the value of List-Unsubscribe-Post, and the body of the
	// POST a mail provider makes.
	OneClick = "List-Unsubscribe=One-Click"
)

// Config is where unsubscribe links point.
type Config struct {
	// PublicURL is the base of the https link (OUTBOX_PUBLIC_URL), without
	// a trailing slash.
	PublicURL string
	// Mailto, when not "", is the address of the mailto: link
	// (OUTBOX_UNSUBSCRIBE_MAILTO); "" leaves the mailto: link out.
	Mailto string
}

// Service issues unsubscribe links and carries them out.
type Service struct {
	store   *db.Store
	keyring *secret.Keyring
	cfg     Config
}

// NewService returns a Service that signs tokens with keyring and records
// suppressions in store.
func NewService(store *db.Store, keyring *secret.Keyring, cfg Config) *Service {
	return &Service{store: store, keyring: keyring, cfg: cfg}
}

// Headers returns the List-Unsubscribe and List-Unsubscribe-Post header
// fields of a SUBSCRIPTION mail of the tenant to recipient: the https link
// (one click, RFC 8058) and, when configured, a mailto: link. It fails only
// when the token cannot be signed.
func (s *Service) Headers(tenantID uuid.UUID, recipient string) (map[string]string, error) {
	token, err := Sign(s.keyring, Claims{TenantID: tenantID, Email: strings.ToLower(recipient), Scope: outbox.ScopeSubscription})
	if err != nil {
		return nil, err
	}
	v := "<" + s.URL(token) + ">"
	if s.cfg.Mailto != "" {
		v += ", <mailto:" + s.cfg.Mailto + "?subject=" + url.PathEscape("unsubscribe "+token) + ">"
	}
	return map[string]string{HeaderListUnsubscribe: v, HeaderListUnsubscribePost: OneClick}, nil
}

// URL returns the https link of token.
func (s *Service) URL(token string) string {
	return s.cfg.PublicURL + "/unsubscribe?" + url.Values{"token": {token}}.Encode()
}

// Unsubscription is what a token unsubscribes, as the page shows it.
type Unsubscription struct {
	TenantName string
	Email      string
	// Already says that the address was suppressed for the tenant's
	// SUBSCRIPTION mail before (Unsubscribe then changed nothing).
	Already bool
}

// Inspect returns what token would unsubscribe, changing nothing. It
// returns EINVALID on "token" for a token that is not one of ours (cut,
// altered, or of a key no longer configured) and ENOTFOUND when its tenant
// is gone.
func (s *Service) Inspect(ctx context.Context, token string) (Unsubscription, error) {
	c, tenant, err := s.open(ctx, token)
	if err != nil {
		return Unsubscription{}, err
	}
	found, err := s.store.SuppressionFind(ctx, tenant.ID, []string{c.Email})
	if err != nil {
		return Unsubscription{}, err
	}
	_, already := found[c.Email]
	return Unsubscription{TenantName: tenant.Name, Email: c.Email, Already: already}, nil
}

// Unsubscribe suppresses the token's address for its tenant's SUBSCRIPTION
// mail (reason UNSUBSCRIBED), with an audit entry. Using a token again, or
// one of an address suppressed already, changes nothing and is no error.
// Errors are those of Inspect.
func (s *Service) Unsubscribe(ctx context.Context, token string) (Unsubscription, error) {
	c, tenant, err := s.open(ctx, token)
	if err != nil {
		return Unsubscription{}, err
	}
	ctx = outbox.NewContextWithTenant(ctx, tenant)
	out := Unsubscription{TenantName: tenant.Name, Email: c.Email}
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		found, err := s.store.SuppressionFind(ctx, tenant.ID, []string{c.Email})
		if err != nil {
			return err
		}
		if _, out.Already = found[c.Email]; out.Already {
			return nil // every scope stops SUBSCRIPTION mail
		}
		saved, err := tx.SuppressionInsert(ctx, tenant.ID, outbox.Suppression{
			Email: c.Email, Reason: outbox.SuppressionUnsubscribed, Scope: c.Scope, Detail: "unsubscribed through the link in a mail",
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, "suppression.unsubscribe", saved.Email, nil, map[string]any{
			"reason": saved.Reason, "scope": saved.Scope,
		})
	})
	if err != nil {
		return Unsubscription{}, err
	}
	return out, nil
}

// open checks token and loads its tenant.
func (s *Service) open(ctx context.Context, token string) (Claims, outbox.Tenant, error) {
	c, err := Parse(s.keyring, token)
	if err != nil {
		return Claims{}, outbox.Tenant{}, err
	}
	tenant, err := s.store.Tenant(ctx, c.TenantID)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return Claims{}, outbox.Tenant{}, outbox.Errorf(outbox.ENOTFOUND, "this unsubscribe link is of a shop that no longer sends mail here: nothing more will come from it")
	}
	if err != nil {
		return Claims{}, outbox.Tenant{}, err
	}
	return c, tenant, nil
}
