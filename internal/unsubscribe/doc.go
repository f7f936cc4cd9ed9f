// Package unsubscribe is one-click unsubscribe (RFC 8058) for a tenant's
// SUBSCRIPTION mail: the List-Unsubscribe headers such mail carries, the
// signed token in their link, and what using the token does — suppress
// that recipient for that tenant's SUBSCRIPTION mail only, so order
// confirmations and password resets still reach them.
//
// A token is not stored anywhere: it is the tenant, the address and the
// scope, signed with an HMAC key derived from the secret keyring (its key
// id travels in the token, so tokens keep working after a key rotation for
// as long as the old key is configured). It does not expire — a link in a
// newsletter from last year must still unsubscribe — and it is versioned,
// so a later format can be told apart. Using it twice changes nothing the
// second time.
package unsubscribe
