-- Partner clients: systems a tenant admin lets act for the tenant with
-- tokens they sign themselves (README.md, "Partner integrations"), their public keys, and the
-- token ids they used, remembered so that a token cannot be replayed.

CREATE TABLE partner_clients (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- client_id is the `iss` of the partner's tokens; tokens are routed by
    -- it before their tenant is known, so it is unique across tenants.
    client_id   text NOT NULL UNIQUE CHECK (client_id <> ''),
    name        text NOT NULL,
    scopes      text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX partner_clients_tenant_idx ON partner_clients (tenant_id, created_at DESC);

CREATE TABLE partner_keys (
    partner_client_id uuid NOT NULL REFERENCES partner_clients (id) ON DELETE CASCADE,
    tenant_id         uuid NOT NULL,
    kid               text NOT NULL CHECK (kid <> ''),
    -- algorithm is the one JWS algorithm the key verifies: RS256, ES256 or EdDSA.
    algorithm         text NOT NULL CHECK (algorithm IN ('RS256', 'ES256', 'EdDSA')),
    -- public_key is the key as a PKIX PEM block, whether it was given as PEM or JWK.
    public_key        text NOT NULL,
    -- thumbprint is the RFC 7638 SHA-256 thumbprint, for the audit log.
    thumbprint        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_client_id, kid)
);

-- Token ids (jti) partners used, kept until the token could no longer be
-- accepted. Not tenant data: a token id is checked before the tenant is
-- known, and a row says nothing but "this id was used".
CREATE TABLE partner_token_ids (
    client_id   text NOT NULL,
    jti         text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE INDEX partner_token_ids_expires_idx ON partner_token_ids (expires_at);
