package outbox

import (
	"time"

	"github.com/google/uuid"
)

// PartnerClient is a partner's registration with one tenant, as stored:
// the client id its tokens name as issuer, and the scopes it was granted.
type PartnerClient struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	// ClientID is the `iss` of the partner's tokens, unique across tenants.
	ClientID string
	Name     string
	Scopes   []string
	// RevokedAt is nil while the client is active.
	RevokedAt *time.Time
	CreatedAt time.Time
}

// PartnerKey is one public key of a partner client, as stored.
type PartnerKey struct {
	PartnerClientID uuid.UUID
	TenantID        uuid.UUID
	Kid             string
	// Algorithm is the one algorithm tokens signed with the key may use.
	Algorithm string
	// PublicKey is the key in PEM.
	PublicKey  string
	Thumbprint string
	CreatedAt  time.Time
}

// PartnerKeyRef names one registered key: its client id and kid.
type PartnerKeyRef struct {
	ClientID string
	Kid      string
}

// PartnerTokenKey is the key a partner token names, with what checking the
// token needs of its client and tenant.
type PartnerTokenKey struct {
	ClientID   string
	Kid        string
	Algorithm  string
	PublicKey  string
	Scopes     []string
	RevokedAt  *time.Time
	TenantSlug string
}
