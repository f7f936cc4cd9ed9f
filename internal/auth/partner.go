package auth

import (
	"context"
	"crypto"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/outbox/outbox/internal/outbox"
)

// maxPartnerTokenLifetime bounds exp - iat of a partner token:
// a leaked token is useful for an hour at most, and the replay store only
// has to remember a token id that long.
const maxPartnerTokenLifetime = time.Hour

// maxTokenIDSize bounds the jti a partner may send, since it is stored.
const maxTokenIDSize = 256

// partnerAlgorithms are the algorithms a partner key can be registered for.
func partnerAlgorithms() []string {
	return []string{algRS256, algES256, algEdDSA}
}

// PartnerKey is one public key a tenant admin registered for a partner
// client, with what the client is allowed to do.
type PartnerKey struct {
	// Tenant is the tenant that registered the client; every request the
	// client makes acts for it.
	Tenant   string
	ClientID string
	Kid      string
	// Algorithm is the one algorithm tokens signed with this key may use:
	// RS256, ES256 or EdDSA, as ParsePublicKey returned it.
	Algorithm string
	PublicKey crypto.PublicKey
	Scopes    []Scope
	// Revoked is set once the client is revoked; its tokens are refused.
	Revoked bool
}

// PartnerKeys is the store of registered partner keys, implemented over the
// database by the partner-client registry.
type PartnerKeys interface {
	// PartnerKey returns the key registered under exactly clientID and kid,
	// revoked or not. It returns an error wrapping an outbox ENOTFOUND error
	// when there is none; any other error is treated as internal.
	PartnerKey(ctx context.Context, clientID, kid string) (PartnerKey, error)
	// RememberTokenID records that the client used jti and reports whether
	// it had not been used before. It must remember jti at least until
	// expiresAt, the last instant the token could still be accepted, and may
	// forget it after.
	RememberTokenID(ctx context.Context, clientID, jti string, expiresAt time.Time) (fresh bool, err error)
}

// verifyPartner verifies a token a partner signed with a registered key.
// Only a token with a valid signature and valid claims reaches the replay
// store, so forged tokens cannot fill it.
func (v *Verifier) verifyPartner(ctx context.Context, raw string, tok *jwt.Token, clientID string) (Principal, error) {
	// Refused before the store is asked, so garbage costs no query.
	if !slices.Contains(partnerAlgorithms(), tok.Method.Alg()) {
		return Principal{}, unauthenticated("algorithm not allowed")
	}
	kid := headerKid(tok)
	if kid == "" {
		return Principal{}, unauthenticated("missing kid")
	}
	key, err := v.partners.PartnerKey(ctx, clientID, kid)
	if err != nil {
		if outbox.ErrorCode(err) == outbox.ENOTFOUND {
			return Principal{}, unauthenticated("unknown client or key")
		}
		return Principal{}, fmt.Errorf("loading partner key: %w", err)
	}
	if err := checkPartnerKey(key, clientID, kid); err != nil {
		return Principal{}, err
	}
	if tok.Method.Alg() != key.Algorithm {
		return Principal{}, unauthenticated("algorithm does not match key")
	}

	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{key.Algorithm}),
		jwt.WithIssuer(clientID),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
	)
	var claims tokenClaims
	if _, err := parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return key.PublicKey, nil }); err != nil {
		return Principal{}, rejection(err, &claims)
	}
	// Checked only now, so that only the key's holder learns of the revocation.
	if key.Revoked {
		return Principal{}, unauthenticated("client revoked")
	}
	if claims.IssuedAt == nil {
		return Principal{}, unauthenticated("missing iat")
	}
	if claims.ExpiresAt.Sub(claims.IssuedAt.Time) > maxPartnerTokenLifetime {
		return Principal{}, unauthenticated("token lifetime exceeds 1 hour")
	}
	if claims.ID == "" {
		return Principal{}, unauthenticated("missing jti")
	}
	if len(claims.ID) > maxTokenIDSize {
		return Principal{}, unauthenticated("jti too long")
	}

	fresh, err := v.partners.RememberTokenID(ctx, clientID, claims.ID, claims.ExpiresAt.Add(v.leeway))
	if err != nil {
		return Principal{}, fmt.Errorf("remembering partner token id: %w", err)
	}
	if !fresh {
		return Principal{}, unauthenticated("token replayed")
	}
	// The tenant comes from the registration; a `tenant` claim in a partner
	// token is ignored, so a partner can never act for another tenant.
	return Principal{
		Kind:      KindPartner,
		Subject:   clientID,
		Tenant:    key.Tenant,
		Scopes:    slices.Clone(key.Scopes),
		ClientID:  clientID,
		KeyID:     kid,
		TokenID:   claims.ID,
		ExpiresAt: claims.ExpiresAt.UTC(),
	}, nil
}

// checkPartnerKey guards against a store that returns a key other than the
// one asked for, or one that could not have passed registration. Either is a
// bug, so it is an internal error, and the token is refused.
func checkPartnerKey(key PartnerKey, clientID, kid string) error {
	if key.ClientID != clientID || key.Kid != kid {
		return fmt.Errorf("partner key store returned key %q of client %q for key %q of client %q", key.Kid, key.ClientID, kid, clientID)
	}
	if key.Tenant == "" {
		return fmt.Errorf("partner key %q of client %q has no tenant", kid, clientID)
	}
	alg, err := publicKeyAlgorithm(key.PublicKey)
	if err != nil {
		return fmt.Errorf("partner key %q of client %q: %w", kid, clientID, err)
	}
	if alg != key.Algorithm {
		return fmt.Errorf("partner key %q of client %q is registered for %q but is a %s key", kid, clientID, key.Algorithm, alg)
	}
	return nil
}
