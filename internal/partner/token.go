package partner

import (
	"context"
	"fmt"
	"time"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// forgetBatch is how many expired token ids each remembered one deletes:
// more than one, so deletion outpaces insertion whenever ids have expired.
const forgetBatch = 4

// PartnerKey returns the key registered under clientID and kid, with the
// client's tenant and scopes and whether it is revoked, as auth.PartnerKeys
// asks. It reads the database on every call, so a revocation or a removed
// key takes effect at once. A key missing from the registry's index of key
// names costs no query (see keyIndex), so garbage tokens do not reach the
// database. It returns an error wrapping an ENOTFOUND error when there is
// no such key, and an internal error (never an EINVALID one, which would
// reach the caller) when the stored key does not parse.
func (r *Registry) PartnerKey(ctx context.Context, clientID, kid string) (auth.PartnerKey, error) {
	known, err := r.keys.has(ctx, clientID, kid)
	if err != nil {
		return auth.PartnerKey{}, err
	}
	if !known {
		return auth.PartnerKey{}, outbox.Errorf(outbox.ENOTFOUND, "partner key not found")
	}
	row, err := r.store.PartnerKeyGetForToken(ctx, clientID, kid)
	if err != nil {
		return auth.PartnerKey{}, err
	}
	pub, alg, err := auth.ParsePublicKey(row.PublicKey, nil)
	if err != nil {
		// %v, not %w: the key's EINVALID code must not reach the caller.
		return auth.PartnerKey{}, fmt.Errorf("parsing stored key %q of partner client %q: %v", kid, clientID, err)
	}
	if alg != row.Algorithm {
		return auth.PartnerKey{}, fmt.Errorf("stored key %q of partner client %q is a %s key but registered for %s", kid, clientID, alg, row.Algorithm)
	}
	scopes := make([]auth.Scope, len(row.Scopes))
	for i, s := range row.Scopes {
		scope, err := auth.ParseScope(s)
		if err != nil {
			return auth.PartnerKey{}, fmt.Errorf("stored scopes of partner client %q: %v", clientID, err)
		}
		scopes[i] = scope
	}
	return auth.PartnerKey{
		Tenant:    row.TenantSlug,
		ClientID:  row.ClientID,
		Kid:       row.Kid,
		Algorithm: row.Algorithm,
		PublicKey: pub,
		Scopes:    scopes,
		Revoked:   row.RevokedAt != nil,
	}, nil
}

// RememberTokenID records that clientID used jti and reports whether it had
// not been used before, as auth.PartnerKeys asks: it is remembered until
// expiresAt. An id seen only on a token that has expired since counts as
// fresh. On the way it deletes a few expired ids.
func (r *Registry) RememberTokenID(ctx context.Context, clientID, jti string, expiresAt time.Time) (bool, error) {
	if _, err := r.store.PartnerTokenIDsForgetExpired(ctx, forgetBatch); err != nil {
		return false, err
	}
	// Not fresh: the id is taken by a token that is still good.
	return r.store.PartnerTokenIDRemember(ctx, clientID, jti, expiresAt)
}
