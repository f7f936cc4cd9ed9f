-- 011_oauth: OAuth connections to Google and Microsoft 365 mailboxes.
--
-- A connection belongs to one sender of a tenant and goes with it. While
-- PENDING it carries the authorization request: the SHA-256 of its single-use
-- state (the state itself is never stored), the PKCE verifier sealed with
-- the keyring, the OIDC nonce and when the request expires; the callback
-- clears them in the statement that uses them, so a state works once.
-- CONNECTED, it holds the refresh token sealed like a password and the
-- account's address from the verified ID token.

CREATE TABLE oauth_connections (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sender_key        text NOT NULL,
    provider          text NOT NULL CHECK (provider IN ('GOOGLE', 'MICROSOFT')),
    status            text NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'CONNECTED', 'FAILED', 'REVOKED')),
    -- who started it, for the audit entry the callback writes.
    created_by_kind   text NOT NULL,
    created_by        text NOT NULL,
    state_hash        bytea UNIQUE,
    state_expires_at  timestamptz,
    verifier_key_id   text,
    verifier          bytea,
    nonce             text,
    email             text,
    account_subject   text,
    refresh_key_id    text,
    refresh_token     bytea,
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    connected_at      timestamptz,
    revoked_at        timestamptz,
    FOREIGN KEY (tenant_id, sender_key) REFERENCES sender_settings (tenant_id, key) ON DELETE CASCADE,
    CHECK (status <> 'CONNECTED' OR (email IS NOT NULL AND refresh_token IS NOT NULL))
);
CREATE INDEX oauth_connections_tenant_idx ON oauth_connections (tenant_id, created_at DESC, id DESC);
