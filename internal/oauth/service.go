package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
	"github.com/outbox/outbox/internal/sender"
)

// CallbackPath is where providers send the browser back to, under the
// public URL.
const CallbackPath = "/oauth/callback"

// DefaultStateTTL is how long an authorization request may take.
const DefaultStateTTL = 10 * time.Minute

// DefaultRefreshMargin is how long before its expiry an access token is
// replaced.
const DefaultRefreshMargin = time.Minute

// Options are the settings of a Service.
type Options struct {
	// PublicURL is the service's public base URL; the redirect URL is
	// PublicURL + CallbackPath.
	PublicURL string
	// Providers are the configured providers; a provider left out cannot be
	// connected.
	Providers []Provider
	// StateTTL bounds an authorization request. Default DefaultStateTTL.
	StateTTL time.Duration
	// RefreshMargin is how long before its expiry a cached access token is
	// refreshed. Default DefaultRefreshMargin.
	RefreshMargin time.Duration
	// HTTPClient calls the providers (discovery, token, keys, revocation);
	// default a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Service connects tenants' senders to mailboxes at Google and Microsoft,
// keeps their refresh tokens sealed, and hands out access tokens.
type Service struct {
	store     *db.Store
	keyring   *secret.Keyring
	logger    *slog.Logger
	opts      Options
	providers map[outbox.OAuthProvider]*provider
	tokens    tokenCache
}

// NewService returns a Service storing connections in store and sealing
// refresh tokens with keyring.
func NewService(store *db.Store, keyring *secret.Keyring, logger *slog.Logger, opts Options) *Service {
	if opts.StateTTL <= 0 {
		opts.StateTTL = DefaultStateTTL
	}
	if opts.RefreshMargin <= 0 {
		opts.RefreshMargin = DefaultRefreshMargin
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	s := &Service{store: store, keyring: keyring, logger: logger, opts: opts, providers: map[outbox.OAuthProvider]*provider{}}
	for _, p := range opts.Providers {
		s.providers[p.Name] = &provider{Provider: p, redirectURL: strings.TrimRight(opts.PublicURL, "/") + CallbackPath, client: opts.HTTPClient}
	}
	s.tokens.init()
	return s
}

// Connection is an OAuth connection as the tenant sees it. It never holds
// a token.
type Connection struct {
	ID       uuid.UUID
	Provider outbox.OAuthProvider
	Status   outbox.OAuthStatus
	// Sender is the key of the sender it belongs to.
	Sender string
	// Email is the connected account's address; "" until CONNECTED.
	Email string
	// AuthorizeURL is where the browser goes to grant access; set only in
	// the answer of Start.
	AuthorizeURL string
	// Error says why it FAILED.
	Error       string
	CreatedAt   time.Time
	ConnectedAt *time.Time
	RevokedAt   *time.Time
}

func connectionOf(c outbox.OAuthConnection) Connection {
	return Connection{
		ID: c.ID, Provider: c.Provider, Status: c.Status, Sender: c.Sender, Email: c.Email, Error: c.Error,
		CreatedAt: c.CreatedAt, ConnectedAt: c.ConnectedAt, RevokedAt: c.RevokedAt,
	}
}

// Start begins connecting the tenant's sender key ("" for the default
// sender) to an account at provider: it records a PENDING connection with
// a fresh single-use state (stored as its hash), PKCE verifier (sealed) and
// nonce, and returns it with the provider's authorize URL. Errors: EINVALID
// on "provider" for a provider that is not configured, EINVALID on
// "sender" for an unknown sender, EFORBIDDEN for a sender the caller may
// not change (another member's personal sender).
func (s *Service) Start(ctx context.Context, name outbox.OAuthProvider, key string) (Connection, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Connection{}, err
	}
	p, ok := s.providers[name]
	if !ok {
		return Connection{}, outbox.Invalid("provider", "%s connections are not set up on this server: the operator has to register an app with %s and configure OUTBOX_OAUTH_%s_CLIENT_ID and _CLIENT_SECRET", name, providerTitle(name), name)
	}
	doc, err := p.discover(ctx)
	if err != nil {
		return Connection{}, fmt.Errorf("starting a %s connection: %w", providerTitle(name), err)
	}
	state, verifier, nonce := rand.Text()+rand.Text(), oauth2.GenerateVerifier(), rand.Text()
	principal, _ := auth.PrincipalFromContext(ctx)
	var conn outbox.OAuthConnection
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		row, err := sender.LockForChange(ctx, tx, tenant, key)
		if err != nil {
			return err
		}
		sealed, err := s.keyring.Seal([]byte(verifier), verifierAAD(tenant.ID, row.Key))
		if err != nil {
			return fmt.Errorf("sealing the PKCE verifier: %w", err)
		}
		expires := time.Now().Add(s.opts.StateTTL)
		conn, err = tx.OAuthConnectionInsert(ctx, outbox.OAuthConnection{
			TenantID: tenant.ID, Sender: row.Key, Provider: name,
			CreatedByKind: string(principal.Kind), CreatedBy: principal.Subject,
			StateHash: stateHash(state), StateExpiresAt: &expires,
			Verifier: outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}, Nonce: nonce,
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, "oauth.start", row.Key+": "+string(name)+" "+conn.ID.String(), nil, auditView(conn))
	})
	if err != nil {
		return Connection{}, err
	}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)}, p.authParams()...)
	c := connectionOf(conn)
	c.AuthorizeURL = doc.oauth.AuthCodeURL(state, opts...)
	return c, nil
}

// Get returns one of the tenant's connections; ENOTFOUND when it has none
// with that id.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Connection, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Connection{}, err
	}
	c, err := s.store.OAuthConnectionGet(ctx, tenant.ID, id)
	if err != nil {
		return Connection{}, err
	}
	return connectionOf(c), nil
}

// List returns the tenant's connections, newest first.
func (s *Service) List(ctx context.Context) ([]Connection, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.OAuthConnectionList(ctx, tenant.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Connection, len(rows))
	for i, r := range rows {
		out[i] = connectionOf(r)
	}
	return out, nil
}

// Disconnect ends one of the tenant's connections: the refresh token is
// revoked at the provider where it offers revocation (RFC 7009), then
// dropped, and the connection is REVOKED; senders using it fail with a
// hint to connect again. A failed revocation at the provider is logged and
// does not keep the token. Errors: ENOTFOUND for an unknown id, EFORBIDDEN
// for a connection of a sender the caller may not change.
func (s *Service) Disconnect(ctx context.Context, id uuid.UUID) error {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return err
	}
	// The permission is checked first; the provider is called outside any
	// transaction, and the row changes only after it answered.
	var before outbox.OAuthConnection
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		before, err = tx.OAuthConnectionGetForUpdate(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		_, err = sender.LockForChange(ctx, tx, tenant, before.Sender)
		return err
	})
	if err != nil {
		return err
	}
	revoked := s.revoke(ctx, tenant.ID, before)
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		if _, err := sender.LockForChange(ctx, tx, tenant, before.Sender); err != nil {
			return err
		}
		after, err := tx.OAuthConnectionRevoke(ctx, tenant.ID, id)
		if err != nil {
			return err
		}
		v := auditView(after)
		v["revokedAtProvider"] = revoked
		return audit.Record(ctx, tx, "oauth.disconnect", before.Sender+": "+string(before.Provider)+" "+before.ID.String(), auditView(before), v)
	})
	if err != nil {
		return err
	}
	s.tokens.forget(id)
	return nil
}

// revoke revokes c's refresh token at its provider, reporting whether the
// provider confirmed it; false also when there is nothing to revoke or no
// revocation endpoint.
func (s *Service) revoke(ctx context.Context, tenantID uuid.UUID, c outbox.OAuthConnection) bool {
	p, ok := s.providers[c.Provider]
	if !ok || !c.RefreshToken.IsSet() {
		return false
	}
	doc, err := p.discover(ctx)
	if err != nil || doc.revocation == "" {
		return false
	}
	token, err := s.openRefreshToken(tenantID, c)
	if err != nil {
		s.logger.WarnContext(ctx, "oauth: opening a refresh token to revoke it", "connection", c.ID, "error", err)
		return false
	}
	if err := revokeToken(ctx, s.opts.HTTPClient, doc.revocation, p.ClientID, p.ClientSecret, token); err != nil {
		s.logger.WarnContext(ctx, "oauth: revoking a refresh token at the provider", "connection", c.ID, "provider", c.Provider, "error", err)
		return false
	}
	return true
}

// stateHash is what is stored of a state.
func stateHash(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:]
}

// verifierAAD binds a sealed PKCE verifier to its tenant and sender.
func verifierAAD(tenantID uuid.UUID, sender string) []byte {
	return secret.AAD("oauth-pkce-verifier", tenantID.String(), sender)
}

// refreshAAD binds a sealed refresh token to its tenant and connection, so
// that a ciphertext copied into another row does not open.
func refreshAAD(tenantID, id uuid.UUID) []byte {
	return secret.AAD("oauth-refresh-token", tenantID.String(), id.String())
}

func (s *Service) openRefreshToken(tenantID uuid.UUID, c outbox.OAuthConnection) (string, error) {
	plain, err := s.keyring.Open(secret.Sealed{KeyID: c.RefreshToken.KeyID, Data: c.RefreshToken.Data}, refreshAAD(tenantID, c.ID))
	if err != nil {
		return "", fmt.Errorf("opening the refresh token: %w", err)
	}
	return string(plain), nil
}

func (s *Service) sealRefreshToken(tenantID, id uuid.UUID, token string) (outbox.Sealed, error) {
	sealed, err := s.keyring.Seal([]byte(token), refreshAAD(tenantID, id))
	if err != nil {
		return outbox.Sealed{}, fmt.Errorf("sealing the refresh token: %w", err)
	}
	return outbox.Sealed{KeyID: sealed.KeyID, Data: sealed.Data}, nil
}

// auditView is a connection fit for the audit log: no token, no state.
func auditView(c outbox.OAuthConnection) map[string]any {
	return map[string]any{
		"id": c.ID, "sender": c.Sender, "provider": c.Provider, "status": c.Status, "email": c.Email, "error": c.Error,
	}
}

func providerTitle(p outbox.OAuthProvider) string {
	if p == outbox.OAuthMicrosoft {
		return "Microsoft"
	}
	return "Google"
}
