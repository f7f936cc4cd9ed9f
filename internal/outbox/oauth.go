package outbox

import (
	"time"

	"github.com/google/uuid"
)

// OAuthProvider is a mail provider a sender can connect to with OAuth.
type OAuthProvider string

// The OAuth providers.
const (
	OAuthGoogle    OAuthProvider = "GOOGLE"
	OAuthMicrosoft OAuthProvider = "MICROSOFT"
)

// OAuthProviders are the providers, in the order they are shown.
var OAuthProviders = []OAuthProvider{OAuthGoogle, OAuthMicrosoft}

// OAuthStatus is where an OAuth connection is.
type OAuthStatus string

// The OAuth connection statuses.
const (
	// OAuthPending: started, the browser has not come back yet.
	OAuthPending OAuthStatus = "PENDING"
	// OAuthConnected: the refresh token and the account's address are stored.
	OAuthConnected OAuthStatus = "CONNECTED"
	// OAuthFailed: the authorization did not complete, or the provider no
	// longer accepts the grant; Error says why. Connect again.
	OAuthFailed OAuthStatus = "FAILED"
	// OAuthRevoked: disconnected; the refresh token is gone.
	OAuthRevoked OAuthStatus = "REVOKED"
)

// OAuthConnection is one OAuth grant of a mailbox to a tenant's sender, as
// stored. RefreshToken is sealed; the authorization request fields are set
// only while the connection is PENDING.
type OAuthConnection struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	// Sender is the key of the sender the connection belongs to.
	Sender   string
	Provider OAuthProvider
	Status   OAuthStatus
	// CreatedByKind and CreatedBy are the caller that started it.
	CreatedByKind, CreatedBy string
	// StateHash is the SHA-256 of the state; StateExpiresAt ends it.
	StateHash      []byte
	StateExpiresAt *time.Time
	// Verifier is the PKCE code verifier, sealed.
	Verifier Sealed
	Nonce    string
	// Email is the account's address from the verified ID token, and
	// AccountSubject its `sub`.
	Email, AccountSubject string
	RefreshToken          Sealed
	// Error says why a connection FAILED.
	Error       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ConnectedAt *time.Time
	RevokedAt   *time.Time
}
