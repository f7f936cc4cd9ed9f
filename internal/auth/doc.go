// Package auth answers two questions for every request: who is calling, and
// may they do this?
//
// Who is calling is a [Principal], built by a [Verifier] from the JWT the
// request carries. The token's issuer tells the two kinds of caller apart:
//
//   - Platform users, whose tokens come from the platform's identity provider
//     (iss == Config.Issuer). They are signed with a shared HS256 secret or
//     with a key from a JWKS file or URL, and carry the user's tenant and
//     roles. Keys behind a URL are fetched on first use and cached
//     (Config.JWKSCacheTTL); a token naming a kid the cache lacks makes the
//     Verifier fetch again, at most once per Config.JWKSMinRefresh, and when
//     a fetch fails the keys fetched last stay in use.
//   - Partner systems, which sign short-lived tokens themselves with a key a
//     tenant admin registered (iss == the partner's client id). A partner
//     token must carry iat, exp at most an hour later, and a jti. The tenant
//     and the scopes come from the registration, never from the token, so a
//     partner cannot name another tenant. Keys and used token ids are kept
//     behind [PartnerKeys] (the partner-client registry, in Postgres): a jti
//     is remembered until its token has expired, so a captured token cannot
//     be replayed, and a revoked client's tokens are refused.
//
// Either way, only allow-listed algorithms are accepted, each only with a key
// of the matching type: "none" is refused, and an HS256 token can never be
// checked against a public key (the classic algorithm-confusion attack).
// Every refusal is an *outbox.Error with code EUNAUTHENTICATED and a short
// reason that never repeats the token; a failing PartnerKeys store is
// returned as its own error, wrapped.
//
// A platform token whose roles contain operator proves a third kind of
// caller, a platform operator ([KindOperator]): it needs no tenant claim
// (one that is present is ignored, as are its other roles), acts for no
// tenant, and holds [PermOperate] and nothing else, so it can manage tenants
// as a whole but never read or change what is inside one.
//
// What a caller may do is a [Permission]. Roles (admin, member) grant
// permissions to users; partners hold [Scope]s, which are the subset of
// permissions a tenant can delegate. The API layer verifies the token and
// puts the Principal into the request context ([NewContextWithPrincipal]),
// and the GraphQL schema's @requires directive asks [Require] before a
// resolver runs. The services below it do not check permissions again: they
// act for the tenant in the context (the audit log reads the Principal only
// to name the actor).
//
// [ParsePublicKey] checks the keys partners register, [ParseScope] the
// scopes they are granted, and [Mint] issues development tokens for
// `outbox token`.
package auth
