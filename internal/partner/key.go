package partner

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// maxKidLength bounds a kid; identity providers use up to ~64 characters.
const maxKidLength = 128

// KeyInput is one public key as a tenant admin gives it: a kid and either a
// PEM block (PKIX "PUBLIC KEY") or a JWK.
type KeyInput struct {
	Kid string
	PEM string
	// JWK is the key as JSON; nil or "null" when PEM is given.
	JWK []byte
}

// parsedKey is a checked KeyInput, ready to store.
type parsedKey struct {
	kid        string
	algorithm  string
	pem        string
	thumbprint string
}

// parseKey checks in; field ("keys[0]", "key") prefixes the field of its
// errors.
func parseKey(field string, in KeyInput) (parsedKey, error) {
	if err := checkKid(in.Kid); err != nil {
		return parsedKey{}, outbox.Invalid(field+".kid", "%s", err)
	}
	if jwkKid := kidOfJWK(in.JWK); jwkKid != "" && jwkKid != in.Kid {
		return parsedKey{}, outbox.Invalid(field+".jwk", "the JWK names kid %q but the key is given kid %q; use one", jwkKid, in.Kid)
	}
	pub, alg, err := auth.ParsePublicKey(in.PEM, in.JWK)
	if err != nil {
		if e := outbox.AsError(err); e != nil && e.Field != "" {
			return parsedKey{}, outbox.Invalid(field+"."+e.Field, "%s", e.Message)
		}
		return parsedKey{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return parsedKey{}, fmt.Errorf("encoding partner key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return parsedKey{}, fmt.Errorf("computing key thumbprint: %w", err)
	}
	return parsedKey{
		kid:        in.Kid,
		algorithm:  alg,
		pem:        string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		thumbprint: base64.RawURLEncoding.EncodeToString(thumb),
	}, nil
}

// checkKid accepts what the token's kid header will say exactly: 1–128
// visible ASCII characters.
func checkKid(kid string) error {
	if kid == "" {
		return fmt.Errorf("give the key a kid; tokens name it in their kid header")
	}
	if len(kid) > maxKidLength {
		return fmt.Errorf("the kid is longer than %d characters", maxKidLength)
	}
	for _, c := range kid {
		if c < '!' || c > '~' {
			return fmt.Errorf("the kid may hold only visible ASCII characters, no spaces")
		}
	}
	return nil
}

// kidOfJWK returns the "kid" member of a JWK, or "" when there is none or
// the JWK does not parse (ParsePublicKey reports that).
func kidOfJWK(jwk []byte) string {
	var k struct {
		Kid string `json:"kid"`
	}
	if len(jwk) == 0 || json.Unmarshal(jwk, &k) != nil {
		return ""
	}
	return k.Kid
}

// insertKey stores k for the client of row.
func insertKey(ctx context.Context, tx *db.Tx, row outbox.PartnerClient, k parsedKey) error {
	return tx.PartnerKeyInsert(ctx, outbox.PartnerKey{
		PartnerClientID: row.ID, TenantID: row.TenantID, Kid: k.kid, Algorithm: k.algorithm,
		PublicKey: k.pem, Thumbprint: k.thumbprint,
	})
}

// AddKey adds a key to the client named by ref (its id or its client id),
// for rotation without downtime: add the new key, move the partner to it,
// then remove the old one. It returns ENOTFOUND for an unknown client,
// ECONFLICT for a revoked one, a kid the client already has or a client
// that already holds MaxKeys keys, and EINVALID (field key.kid, key.pem,
// key.jwk) for a bad key.
func (r *Registry) AddKey(ctx context.Context, ref string, in KeyInput) (Client, error) {
	k, err := parseKey("key", in)
	if err != nil {
		return Client{}, err
	}
	var client Client
	err = r.change(ctx, ref, func(tx *db.Tx, row outbox.PartnerClient, before Client) error {
		switch {
		case row.RevokedAt != nil:
			return outbox.Errorf(outbox.ECONFLICT, "the partner client is revoked; register a new one")
		case hasKid(before, k.kid):
			return outbox.Errorf(outbox.ECONFLICT, "the client already has a key with kid %q; give the new key another kid", k.kid)
		case len(before.Keys) >= MaxKeys:
			return outbox.Errorf(outbox.ECONFLICT, "the client already holds %d keys; remove one first", MaxKeys)
		}
		if err := insertKey(ctx, tx, row, k); err != nil {
			return err
		}
		var err error
		if client, err = loadClient(ctx, tx, row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "partner_key.add", auditTarget(client)+"/key:"+k.kid, Redact(before), Redact(client))
	})
	if err == nil {
		r.keys.stale()
	}
	return client, err
}

// RemoveKey removes the key kid from the client named by ref; tokens signed
// with it are refused from then on, and the websockets opened with it are
// closed (the removal NOTIFYs at commit; see Revocations). It returns ENOTFOUND for an unknown
// client or kid, and ECONFLICT for a revoked client or its last key (revoke
// the client instead).
func (r *Registry) RemoveKey(ctx context.Context, ref, kid string) (Client, error) {
	var client Client
	err := r.change(ctx, ref, func(tx *db.Tx, row outbox.PartnerClient, before Client) error {
		switch {
		case row.RevokedAt != nil:
			return outbox.Errorf(outbox.ECONFLICT, "the partner client is revoked")
		case !hasKid(before, kid):
			return outbox.Errorf(outbox.ENOTFOUND, "the client has no key with kid %q", kid)
		case len(before.Keys) == 1:
			return outbox.Errorf(outbox.ECONFLICT, "this is the client's only key; add another key first, or revoke the client")
		}
		if _, err := tx.PartnerKeyDelete(ctx, row.TenantID, row.ID, kid); err != nil {
			return err
		}
		if err := tx.PartnerKeyNotifyRemoved(ctx, row.ClientID, kid); err != nil {
			return err
		}
		var err error
		if client, err = loadClient(ctx, tx, row); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "partner_key.remove", auditTarget(client)+"/key:"+kid, Redact(before), Redact(client))
	})
	return client, err
}

func hasKid(c Client, kid string) bool {
	for _, k := range c.Keys {
		if k.Kid == kid {
			return true
		}
	}
	return false
}
