// Package partner holds the partner clients a tenant admin registers: other
// systems that act for the tenant through the GraphQL API with tokens they
// sign themselves.
//
// A [Registry] registers, lists and revokes clients and adds and removes
// their public keys; every change is written to the audit log in the same
// transaction. A client is known to its partner by a generated client id,
// the `iss` of its tokens; the registry makes sure it never equals the
// platform identity provider's issuer, since the verifier routes tokens by
// issuer.
//
// The Registry is also the store behind [auth.PartnerKeys]: it looks up the
// key a token names (with the client's tenant, scopes and revocation,
// never cached, so a revocation takes effect on the next request) and
// remembers token ids until the token could no longer be accepted, so a
// token is good for one request or one websocket. Expired ids are deleted
// a few at a time by each new one, which keeps the table about one hour of
// tokens large without a periodic job.
//
// [Revocations] ends the open websockets of a client when it is revoked:
// the revocation NOTIFYs in its transaction and every API process LISTENs.
package partner
