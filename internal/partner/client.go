package partner

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// Bounds of a registration.
const (
	maxNameLength = 100
	// MaxKeys is the most keys a client holds at once: enough to rotate
	// (old and new) with room to spare.
	MaxKeys = 10
	// clientIDPrefix marks generated client ids. It keeps them from ever
	// parsing as a UUID, so a client is named by its id or its client id
	// without ambiguity.
	clientIDPrefix = "ptr_"
)

// Client is a registered partner client as its tenant sees it.
type Client struct {
	ID uuid.UUID
	// ClientID is the `iss` of the partner's tokens.
	ClientID  string
	Name      string
	Scopes    []auth.Scope
	Keys      []Key
	CreatedAt time.Time
	// RevokedAt is when the client was revoked; nil while it is active.
	RevokedAt *time.Time
}

// Key is one public key of a client. The key itself is not shown again.
type Key struct {
	Kid string
	// Algorithm is the one algorithm tokens signed with the key may use:
	// RS256, ES256 or EdDSA.
	Algorithm string
	// Thumbprint is the key's RFC 7638 SHA-256 thumbprint (base64url).
	Thumbprint string
	CreatedAt  time.Time
}

// Registration is what a tenant admin gives to register a client.
type Registration struct {
	Name string
	// Scopes are settings:read, settings:write, messages:send, logs:read.
	Scopes []string
	Keys   []KeyInput
}

// Options configure a Registry.
type Options struct {
	// PlatformIssuer is the `iss` of platform user tokens
	// (OUTBOX_JWT_ISSUER); no client id may equal it. Required.
	PlatformIssuer string
	// Now is the clock of the key index's refreshes. Default: time.Now.
	Now func() time.Time
}

// Registry manages the partner clients of every tenant and serves their
// keys to the token verifier. Methods called for a request act for the
// tenant in ctx.
type Registry struct {
	store          *db.Store
	platformIssuer string
	// keys spares a query for tokens that name no registered key.
	keys *keyIndex
}

var _ auth.PartnerKeys = (*Registry)(nil)

// NewRegistry returns a Registry over store.
func NewRegistry(store *db.Store, opts Options) *Registry {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Registry{store: store, platformIssuer: opts.PlatformIssuer, keys: newKeyIndex(store, now)}
}

// Register validates reg and stores the client with its keys under a new
// client id, with an audit entry, in one transaction. It returns an
// EINVALID error naming the field at fault (scopes, name, keys[i].kid,
// keys[i].pem, keys[i].jwk…) and stores nothing then.
func (r *Registry) Register(ctx context.Context, reg Registration) (Client, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Client{}, err
	}
	name, err := checkName(reg.Name)
	if err != nil {
		return Client{}, err
	}
	scopes, err := parseScopes(reg.Scopes)
	if err != nil {
		return Client{}, err
	}
	if len(reg.Keys) == 0 {
		return Client{}, outbox.Invalid("keys", "give at least one public key")
	}
	if len(reg.Keys) > MaxKeys {
		return Client{}, outbox.Invalid("keys", "a client holds at most %d keys", MaxKeys)
	}
	keys := make([]parsedKey, len(reg.Keys))
	for i, in := range reg.Keys {
		field := fmt.Sprintf("keys[%d]", i)
		if keys[i], err = parseKey(field, in); err != nil {
			return Client{}, err
		}
		if slices.ContainsFunc(keys[:i], func(k parsedKey) bool { return k.kid == in.Kid }) {
			return Client{}, outbox.Invalid(field+".kid", "kid %q is given twice; every key needs its own kid", in.Kid)
		}
	}
	clientID, err := r.newClientID()
	if err != nil {
		return Client{}, err
	}

	var client Client
	err = r.store.InTx(ctx, func(tx *db.Tx) error {
		row, err := tx.PartnerClientInsert(ctx, outbox.PartnerClient{
			TenantID: tenant.ID, ClientID: clientID, Name: name, Scopes: scopeStrings(scopes),
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := insertKey(ctx, tx, row, k); err != nil {
				return err
			}
		}
		if client, err = loadClient(ctx, tx, row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "partner_client.register", auditTarget(client), nil, Redact(client))
	})
	if err == nil {
		r.keys.stale()
	}
	return client, err
}

// List returns the tenant's clients, revoked ones included, newest first.
func (r *Registry) List(ctx context.Context) ([]Client, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := r.store.PartnerClientListByTenant(ctx, tenant.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	keys, err := r.store.PartnerKeyListByClients(ctx, tenant.ID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Client, len(rows))
	for i, row := range rows {
		out[i] = clientFromRows(row, keys)
	}
	return out, nil
}

// Revoke revokes the client named by ref (its id or its client id) at once:
// its next token is refused, and its open websockets are closed (the
// revocation NOTIFYs at commit; see Revocations). Revoking a revoked client
// returns it unchanged. It returns ENOTFOUND when the tenant has no such
// client.
func (r *Registry) Revoke(ctx context.Context, ref string) (Client, error) {
	var client Client
	err := r.change(ctx, ref, func(tx *db.Tx, row outbox.PartnerClient, before Client) error {
		if row.RevokedAt != nil {
			client = before
			return nil
		}
		revoked, err := tx.PartnerClientRevoke(ctx, row.TenantID, row.ID)
		if err != nil {
			return err
		}
		if err := tx.PartnerClientNotifyRevoked(ctx, row.ClientID); err != nil {
			return err
		}
		if client, err = loadClient(ctx, tx, revoked); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "partner_client.revoke", auditTarget(client), Redact(before), Redact(client))
	})
	return client, err
}

// change runs fn in a transaction on the tenant's client named by ref,
// locked, with the client as it was before.
func (r *Registry) change(ctx context.Context, ref string, fn func(tx *db.Tx, row outbox.PartnerClient, before Client) error) error {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return err
	}
	var id uuid.UUID
	if parsed, err := uuid.Parse(ref); err == nil {
		id = parsed
	}
	return r.store.InTx(ctx, func(tx *db.Tx) error {
		row, err := tx.PartnerClientGetForUpdate(ctx, tenant.ID, id, ref)
		if err != nil {
			return err
		}
		before, err := loadClient(ctx, tx, row)
		if err != nil {
			return err
		}
		return fn(tx, row, before)
	})
}

// newClientID returns a fresh client id: a prefix and 130 random bits.
func (r *Registry) newClientID() (string, error) {
	for range 3 {
		id := clientIDPrefix + strings.ToLower(rand.Text())
		if id != r.platformIssuer {
			return id, nil
		}
	}
	return "", fmt.Errorf("generating a partner client id: OUTBOX_JWT_ISSUER %q keeps coming out", r.platformIssuer)
}

// loadClient returns the client of row with its keys, read in tx.
func loadClient(ctx context.Context, tx *db.Tx, row outbox.PartnerClient) (Client, error) {
	keys, err := tx.PartnerKeyListByClients(ctx, row.TenantID, []uuid.UUID{row.ID})
	if err != nil {
		return Client{}, err
	}
	return clientFromRows(row, keys), nil
}

// clientFromRows maps a client row and the key rows of its tenant (those
// of other clients are skipped).
func clientFromRows(row outbox.PartnerClient, keys []outbox.PartnerKey) Client {
	c := Client{
		ID: row.ID, ClientID: row.ClientID, Name: row.Name, CreatedAt: row.CreatedAt, RevokedAt: row.RevokedAt,
		Scopes: make([]auth.Scope, len(row.Scopes)), Keys: []Key{},
	}
	for i, s := range row.Scopes {
		c.Scopes[i] = auth.Scope(s)
	}
	for _, k := range keys {
		if k.PartnerClientID == row.ID {
			c.Keys = append(c.Keys, Key{Kid: k.Kid, Algorithm: k.Algorithm, Thumbprint: k.Thumbprint, CreatedAt: k.CreatedAt})
		}
	}
	return c
}

// Redact returns the client fit for the audit log: no key material, only
// each key's kid, algorithm and thumbprint.
func Redact(c Client) map[string]any {
	keys := make([]map[string]any, len(c.Keys))
	for i, k := range c.Keys {
		keys[i] = map[string]any{"kid": k.Kid, "algorithm": k.Algorithm, "thumbprint": k.Thumbprint}
	}
	out := map[string]any{"clientId": c.ClientID, "name": c.Name, "scopes": c.Scopes, "keys": keys}
	if c.RevokedAt != nil {
		out["revokedAt"] = c.RevokedAt.UTC()
	}
	return out
}

func auditTarget(c Client) string { return "partner_client:" + c.ClientID }

// checkName returns the trimmed client name, or an EINVALID error.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", outbox.Invalid("name", "give the partner client a name")
	case !utf8.ValidString(name):
		return "", outbox.Invalid("name", "the name is not valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameLength:
		return "", outbox.Invalid("name", "the name is longer than %d characters", maxNameLength)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", outbox.Invalid("name", "the name must not contain control characters")
	}
	return name, nil
}

// parseScopes checks the granted scopes: at least one, each known; repeats
// are dropped.
func parseScopes(in []string) ([]auth.Scope, error) {
	if len(in) == 0 {
		return nil, outbox.Invalid("scopes", "grant at least one scope: settings:read, settings:write, messages:send or logs:read")
	}
	var out []auth.Scope
	for _, s := range in {
		scope, err := auth.ParseScope(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, scope) {
			out = append(out, scope)
		}
	}
	return out, nil
}

func scopeStrings(scopes []auth.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}
