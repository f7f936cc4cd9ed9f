// Package auth answers two questions for every request: who is calling, and
// may they do this?
//
// Who is calling is a [Principal], built by a [Verifier] from the JWT the
// request carries (DESIGN.md §2). There are two kinds of caller:
//
//   - Platform users, whose tokens come from the platform's identity provider
//     (iss == Config.Issuer). They are signed with a shared HS256 secret or
//     with a key from a JWKS file or URL (fetched, cached and refreshed when
//     a token names an unknown kid), and carry the user's tenant and roles.
//   - Partner systems, which sign short-lived tokens themselves with a key a
//     tenant admin registered (iss == the partner's client id). The tenant and
//     the scopes come from that registration, never from the token, so a
//     partner cannot name another tenant. Token ids are remembered until the
//     token expires, so a captured token cannot be replayed.
//
// Either way, only allow-listed algorithms are accepted, each only with a key
// of the matching type: "none" is refused, and an HS256 token can never be
// checked against a public key (the classic algorithm-confusion attack).
// Every rejection is an *outbox.Error with code EUNAUTHENTICATED and a short
// reason that never repeats the token.
//
// What a caller may do is a [Permission]. Roles (admin, member) grant
// permissions to users; partners hold [Scope]s, which are the subset of
// permissions a tenant can delegate. The transport puts the Principal into
// the request context ([NewContextWithPrincipal]) and the domain asks
// [Require] before it acts.
//
// [ParsePublicKey] checks the keys partners register, and [Mint] issues
// development tokens for `outbox token`.
package auth
