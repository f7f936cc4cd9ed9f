// Package oauth connects tenants' senders to mailboxes at Google and
// Microsoft 365 with OAuth 2.0, so that they send through SMTP with XOAUTH2
// instead of a password.
//
// A connection starts PENDING with an authorization request: the
// authorization code flow with PKCE (S256), a random single-use state
// bound to the tenant, the sender and the caller (only its SHA-256 is
// stored; it expires after 10 minutes) and an OIDC nonce. The provider
// sends the browser back to /oauth/callback; Complete exchanges the code,
// verifies the ID token through the provider's discovery document and keys
// (coreos/go-oidc), takes the account's address from it, and stores the
// refresh token sealed with the keyring, bound to tenant and connection.
//
// Access tokens live in memory only, per connection, and are renewed a
// minute before they expire by whichever worker needs one (one refresh per
// connection at a time per process). A provider that answers invalid_grant
// ends the connection (FAILED): the sender's health says NEEDS_RECONNECT.
// Disconnecting revokes the refresh token where the provider publishes a
// revocation endpoint (RFC 7009; Google does, Microsoft does not).
//
// Microsoft's multi-tenant issuer (…/common/v2.0) publishes the issuer
// template https://login.microsoftonline.com/{tenantid}/v2.0: every ID
// token's iss must be that template with the token's own tid filled in.
//
// Tokens never appear in responses, logs, metrics or the audit log.
package oauth
