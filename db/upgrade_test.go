package db_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/pgserver"
)

// wave1Version is the app schema version of wave 1: the migrations before
// 010_senders.sql.
const wave1Version = 9

// addedBy010 is every column 010_senders.sql (and a later migration, where
// noted) adds to a table of wave 1.
// Every other column of every table must come through the upgrade unchanged.
var addedBy010 = map[string][]string{
	"tenants":              {"entitlements", "status", "status_reason", "status_changed_at", "reputation_since"}, // reputation_since by 017_reputation.sql
	"sender_settings":      {"key", "name", "owner_subject", "created_at"},
	"sender_tests":         {"sender_key"},
	"sender_drafts":        {"sender_key"},
	"sender_verifications": {"sender_key"},
	"messages":             {"sender_key", "category", "metadata", "tags", "send_at"}, // category by 014_unsubscribe.sql, the others by 020_message_options.sql
	"message_attempts":     {"provider_message_id"},                                   // by 012_provider_message_id.sql
	"templates":            {"category"},                                              // by 014_unsubscribe.sql
	"suppressions":         {"detail", "scope"},                                       // by 014_unsubscribe.sql
}

// rewrittenBy014 are the columns whose values 014_unsubscribe.sql changes:
// wave 1's suppressions.reason (a bounce's reply) moves to detail, and
// reason becomes BOUNCE. The test checks them apart.
var rewrittenBy014 = map[string][]string{"suppressions": {"reason"}}

// wave1Data is what the wave-1 code wrote, shaped as its queries wrote it
// (db/queries/*.sql of that version), for three tenants: acme sends through
// its own Office 365 account (SMTP, a sealed password, a health problem),
// globex through a verified branded address with another still pending, and
// initech is as TenantUpsertBySlug created it (PLATFORM, defaults).
const wave1Data = `
INSERT INTO tenants (id, slug, name, retention_days, created_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'acme', 'Acme Shop', 30, '2025-01-10 09:00:00+00'),
    ('b0000000-0000-4000-8000-000000000002', 'globex', 'Globex', 90, '2025-02-01 12:00:00+00'),
    ('c0000000-0000-4000-8000-000000000003', 'initech', 'initech', 30, '2025-03-03 08:30:00+00');

INSERT INTO sender_settings (tenant_id, mode, from_name, from_email, reply_to, contact_email, bcc, archive_copy_to,
                             transport, secret_key_id, secret,
                             health_ok, health_message, health_category, health_updated_at, updated_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'SMTP', 'Acme Shop', 'orders@acme.example', 'support@acme.example',
     'contact@acme.example', '{audit@acme.example,ops@acme.example}', 'archive@acme.example',
     '{"smtp": {"Preset": "office365", "Host": "smtp.office365.com", "Port": 587, "Security": "STARTTLS", "Auth": "LOGIN",
                "Username": "orders@acme.example", "SkipTLSVerify": false,
                "Limits": {"PerSecond": 0, "PerMinute": 30, "PerHour": 0, "PerDay": 10000, "RecipientsPerDay": 10000, "RecipientsPerMessage": 500}}}',
     'key-2025-01', '\x5f3a9c0d11e2b7a48c66f0e19d2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80'::bytea,
     false, '454 4.7.0 Too many connections, try again later', 'THROTTLED', '2025-04-01 10:15:00+00', '2025-03-20 16:00:00+00'),
    ('b0000000-0000-4000-8000-000000000002', 'BRANDED', 'Globex News', 'news@globex.example', '',
     'help@globex.example', '{}', '', NULL, NULL, NULL,
     true, '', '', '2025-03-01 09:00:00+00', '2025-03-01 09:00:00+00'),
    ('c0000000-0000-4000-8000-000000000003', DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT,
     DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, '2025-03-03 08:30:00+00');

INSERT INTO messages (id, tenant_id, kind, status, from_addr, to_addrs, cc_addrs, subject, template_key, idempotency_key,
                      payload, job_id, resent_from, last_error, attempt_count, created_at, updated_at, sent_at) VALUES
    -- acme: the test send of its SMTP settings, and notifications in every state.
    ('a1000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'TEST', 'SENT',
     '"Acme Shop" <orders@acme.example>', '{owner@acme.example}', '{}', 'Outbox test message', NULL, NULL,
     '{"text": "This is a test message from Outbox."}', 101, NULL, NULL, 1,
     '2025-03-20 15:58:00+00', '2025-03-20 15:58:02+00', '2025-03-20 15:58:02+00'),
    ('a1000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'NOTIFICATION', 'SENT',
     '"Acme Shop" <orders@acme.example>', '{jane@customer.example}', '{desk@customer.example}', 'Your order 1001 has shipped',
     'order.shipped', 'order-1001-shipped', '{"text": "Hi Jane, order 1001 is on its way.", "html": "<p>Hi Jane, order 1001 is on its way.</p>"}',
     102, NULL, NULL, 1, '2025-04-02 08:00:00+00', '2025-04-02 08:00:01+00', '2025-04-02 08:00:01+00'),
    ('a1000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'NOTIFICATION', 'FAILED',
     '"Acme Shop" <orders@acme.example>', '{gone@customer.example}', '{}', 'Your order 1002 has shipped',
     'order.shipped', NULL, '{"text": "Hi, order 1002 is on its way."}', 103, NULL,
     '{"category": "RECIPIENT_REJECTED", "code": 550, "enhancedCode": "5.1.1", "message": "550 5.1.1 User unknown"}', 1,
     '2025-04-02 09:00:00+00', '2025-04-02 09:00:01+00', NULL),
    ('a1000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001', 'NOTIFICATION', 'RETRYING',
     '"Acme Shop" <orders@acme.example>', '{bob@customer.example}', '{}', 'Invoice 2025-17', NULL, NULL,
     '{"text": "Your invoice is attached.", "attachments": [{"filename": "invoice.pdf", "contentType": "application/pdf", "content": "JVBERi0xLjQK"}]}',
     104, NULL, '{"category": "THROTTLED", "code": 454, "enhancedCode": "4.7.0", "message": "454 4.7.0 Too many connections"}', 2,
     '2025-04-01 10:14:00+00', '2025-04-01 10:15:00+00', NULL),
    ('a1000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000001', 'NOTIFICATION', 'QUEUED',
     '"Acme Shop" <orders@acme.example>', '{carol@customer.example}', '{}', 'Welcome to Acme', NULL, NULL,
     '{"text": "Welcome!"}', 105, NULL, NULL, 0, '2025-04-03 07:00:00+00', '2025-04-03 07:00:00+00', NULL),
    ('a1000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000001', 'NOTIFICATION', 'SUPPRESSED',
     '"Acme Shop" <orders@acme.example>', '{gone@customer.example}', '{}', 'Your order 1002 has shipped',
     'order.shipped', NULL, '{"text": "Hi, order 1002 is on its way."}', NULL, 'a1000000-0000-4000-8000-000000000003', NULL, 0,
     '2025-04-02 09:30:00+00', '2025-04-02 09:30:00+00', NULL),
    ('a1000000-0000-4000-8000-000000000007', 'a0000000-0000-4000-8000-000000000001', 'NOTIFICATION', 'CANCELLED',
     '"Acme Shop" <orders@acme.example>', '{dave@customer.example}', '{}', 'Cart reminder', NULL, NULL,
     '{"text": "You left something in your cart."}', 107, NULL, NULL, 0,
     '2025-04-03 07:05:00+00', '2025-04-03 07:06:00+00', NULL),
    -- globex: the verification mails of its two addresses and its notifications.
    ('b1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', 'VERIFICATION', 'SENT',
     '"Outbox" <no-reply@outbox.example>', '{news@globex.example}', '{}', 'Confirm news@globex.example', NULL, NULL,
     '{}', 201, NULL, NULL, 1, '2025-02-28 10:00:00+00', '2025-02-28 10:00:01+00', '2025-02-28 10:00:01+00'),
    ('b1000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', 'VERIFICATION', 'SENT',
     '"Outbox" <no-reply@outbox.example>', '{sales@globex.example}', '{}', 'Confirm sales@globex.example', NULL, NULL,
     '{}', 202, NULL, NULL, 1, '2025-04-03 06:00:00+00', '2025-04-03 06:00:01+00', '2025-04-03 06:00:01+00'),
    ('b1000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000002', 'NOTIFICATION', 'SENT',
     '"Globex News" <news@globex.example>', '{reader@example.org}', '{}', 'Globex weekly', 'newsletter.weekly', NULL,
     '{"html": "<h1>This week</h1>"}', 203, NULL, NULL, 1,
     '2025-04-01 06:00:00+00', '2025-04-01 06:00:02+00', '2025-04-01 06:00:02+00'),
    ('b1000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-000000000002', 'NOTIFICATION', 'SENDING',
     '"Globex News" <news@globex.example>', '{reader2@example.org}', '{}', 'Globex weekly', 'newsletter.weekly', NULL,
     '{"html": "<h1>This week</h1>"}', 204, NULL, NULL, 0,
     '2025-04-03 06:30:00+00', '2025-04-03 06:30:01+00', NULL),
    -- initech: one notification through the platform relay.
    ('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000003', 'NOTIFICATION', 'SENT',
     '"initech via Outbox" <no-reply@outbox.example>', '{peter@initech.example}', '{}', 'TPS report reminder', NULL, NULL,
     '{"text": "Did you get the memo?"}', 301, NULL, NULL, 1,
     '2025-04-01 09:00:00+00', '2025-04-01 09:00:01+00', '2025-04-01 09:00:01+00');

INSERT INTO message_attempts (message_id, tenant_id, at, duration_ms, server, code, enhanced_code, reply, tls_version, category) VALUES
    ('a1000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', '2025-03-20 15:58:01+00', 812,
     'smtp.office365.com:587', 250, '2.0.0', '2.0.0 OK <abc@acme>', 'TLS 1.3', ''),
    ('a1000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', '2025-04-02 08:00:01+00', 640,
     'smtp.office365.com:587', 250, '2.0.0', '2.0.0 OK <def@acme>', 'TLS 1.3', ''),
    ('a1000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', '2025-04-02 09:00:01+00', 530,
     'smtp.office365.com:587', 550, '5.1.1', '5.1.1 User unknown', 'TLS 1.3', 'RECIPIENT_REJECTED'),
    ('a1000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001', '2025-04-01 10:14:30+00', 0,
     'smtp.office365.com:587', NULL, '', '', '', 'CONNECTION'),
    ('a1000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000001', '2025-04-01 10:15:00+00', 310,
     'smtp.office365.com:587', 454, '4.7.0', '4.7.0 Too many connections', 'TLS 1.3', 'THROTTLED'),
    ('b1000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', '2025-02-28 10:00:01+00', 120,
     'relay.outbox.example:587', 250, '2.0.0', '2.0.0 queued', 'TLS 1.3', ''),
    ('b1000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', '2025-04-03 06:00:01+00', 118,
     'relay.outbox.example:587', 250, '2.0.0', '2.0.0 queued', 'TLS 1.3', ''),
    ('b1000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000002', '2025-04-01 06:00:02+00', 150,
     'relay.outbox.example:587', 250, '2.0.0', '2.0.0 queued', 'TLS 1.3', ''),
    ('c1000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000003', '2025-04-01 09:00:01+00', 99,
     'relay.outbox.example:587', 250, '2.0.0', '2.0.0 queued', 'TLS 1.3', '');

INSERT INTO message_events (message_id, tenant_id, status, detail, at)
SELECT m.id, m.tenant_id, e.status, e.detail, m.created_at + e.after
FROM messages m
CROSS JOIN LATERAL (VALUES ('QUEUED', '', interval '0'), (m.status, 'attempt 1 of 10', interval '1 second')) AS e (status, detail, after)
WHERE m.status <> 'QUEUED';

INSERT INTO sender_tests (id, tenant_id, status, settings, secret_key_id, secret, fingerprint, test_recipient, message_id,
                          steps, error, created_at, finished_at) VALUES
    ('a2000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'PASSED',
     '{"Mode": "SMTP", "FromName": "Acme Shop", "FromEmail": "orders@acme.example", "ReplyTo": "support@acme.example",
       "ContactEmail": "contact@acme.example", "Bcc": ["audit@acme.example", "ops@acme.example"], "ArchiveCopyTo": "archive@acme.example",
       "SMTP": {"Preset": "office365", "Host": "smtp.office365.com", "Port": 587, "Security": "STARTTLS", "Auth": "LOGIN",
                "Username": "orders@acme.example", "SkipTLSVerify": false, "Limits": {"PerMinute": 30}}, "HTTP": null}',
     'key-2025-01', '\x5f3a9c0d11e2b7a48c66f0e19d2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80'::bytea,
     'key-2025-01:9b2f6a1c0e4d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a', 'owner@acme.example',
     'a1000000-0000-4000-8000-000000000001',
     '[{"name": "connect", "ok": true, "durationMs": 120}, {"name": "starttls", "ok": true, "durationMs": 80},
       {"name": "auth", "ok": true, "durationMs": 210}, {"name": "send", "ok": true, "durationMs": 402}]',
     NULL, '2025-03-20 15:58:00+00', '2025-03-20 15:58:02+00');

INSERT INTO sender_drafts (tenant_id, test_id, fingerprint, updated_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000001',
     'key-2025-01:9b2f6a1c0e4d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a', '2025-03-20 15:58:00+00');

INSERT INTO sender_verifications (id, tenant_id, email, expires_at, verified_at, last_sent_at, resent_at, created_at, updated_at) VALUES
    ('b3000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', 'news@globex.example',
     '2025-03-01 10:00:00+00', '2025-02-28 10:05:00+00', '2025-02-28 10:00:00+00', '{}',
     '2025-02-28 10:00:00+00', '2025-02-28 10:05:00+00'),
    ('b3000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002', 'Sales@globex.example',
     '2025-04-04 06:00:00+00', NULL, '2025-04-03 06:00:00+00', '{"2025-04-03 06:00:00+00"}',
     '2025-04-02 18:00:00+00', '2025-04-03 06:00:00+00');

INSERT INTO sender_verification_tokens (id, verification_id, tenant_id, hash, sealed_key_id, sealed, message_id,
                                        created_at, expires_at, used_at, revoked_at) VALUES
    ('b4000000-0000-4000-8000-000000000001', 'b3000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002',
     sha256('news-token'), NULL, NULL, 'b1000000-0000-4000-8000-000000000001',
     '2025-02-28 10:00:00+00', '2025-03-01 10:00:00+00', '2025-02-28 10:05:00+00', NULL),
    ('b4000000-0000-4000-8000-000000000002', 'b3000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002',
     sha256('sales-token-1'), NULL, NULL, NULL,
     '2025-04-02 18:00:00+00', '2025-04-03 06:00:00+00', NULL, '2025-04-03 06:00:00+00'),
    ('b4000000-0000-4000-8000-000000000003', 'b3000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002',
     sha256('sales-token-2'), NULL, NULL, 'b1000000-0000-4000-8000-000000000002',
     '2025-04-03 06:00:00+00', '2025-04-04 06:00:00+00', NULL, NULL);

INSERT INTO suppressions (tenant_id, email, reason, message_id, created_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'gone@customer.example', '550 5.1.1 User unknown',
     'a1000000-0000-4000-8000-000000000003', '2025-04-02 09:00:01+00');

INSERT INTO idempotency_keys (tenant_id, key, message_id, expires_at, payload_hash) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'order-1001-shipped', 'a1000000-0000-4000-8000-000000000002',
     '2025-04-03 08:00:00+00', sha256('order 1001 request'));

INSERT INTO templates (tenant_id, key, subject, text_body, html_body, created_at, updated_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'order.shipped', 'Your order {{.order}} has shipped',
     'Hi {{.name}}, order {{.order}} is on its way.', '<p>Hi {{.name}}, order {{.order}} is on its way.</p>',
     '2025-03-21 10:00:00+00', '2025-03-22 11:00:00+00');

INSERT INTO audit_log (tenant_id, actor_kind, actor, action, target, request_id, before, after, created_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'USER', 'user-17', 'sender.save', 'sender_settings', 'req-8f2c',
     '{"mode": "PLATFORM"}', '{"mode": "SMTP", "fromEmail": "orders@acme.example", "smtp": {"host": "smtp.office365.com"}}',
     '2025-03-20 16:00:00+00'),
    ('b0000000-0000-4000-8000-000000000002', 'USER', 'user-3', 'sender.verification.request', 'news@globex.example', 'req-11aa',
     NULL, '{"email": "news@globex.example"}', '2025-02-28 10:00:00+00');

INSERT INTO partner_clients (id, tenant_id, client_id, name, scopes, created_at) VALUES
    ('a5000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'erp-acme', 'Acme ERP',
     '{notifications:send}', '2025-03-25 12:00:00+00');
INSERT INTO partner_keys (partner_client_id, tenant_id, kid, algorithm, public_key, thumbprint, created_at) VALUES
    ('a5000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'erp-2025', 'EdDSA',
     E'-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n',
     'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k', '2025-03-25 12:00:00+00');
INSERT INTO partner_token_ids (client_id, jti, expires_at) VALUES ('erp-acme', 'jti-0001', '2025-04-03 08:05:00+00');

INSERT INTO ratelimit_accounts (account, seq, recipients_total, last_at, pruned_seq, pruned_recipients, paused_until) VALUES
    ('smtp:smtp.office365.com:587:orders@acme.example', 2, 3, '2025-04-02 09:00:00+00', 0, 0, '2025-04-01 10:16:00+00');
INSERT INTO ratelimit_reservations (account, seq, at, recipients_total) VALUES
    ('smtp:smtp.office365.com:587:orders@acme.example', 1, '2025-04-02 08:00:00+00', 2),
    ('smtp:smtp.office365.com:587:orders@acme.example', 2, '2025-04-02 09:00:00+00', 3);

INSERT INTO dev_mailbox (mail_from, rcpt_to, subject, message_id, raw, received_at) VALUES
    ('no-reply@outbox.example', '{news@globex.example}', 'Confirm news@globex.example', 'b1000000@outbox.example',
     convert_to(E'Subject: Confirm news@globex.example\r\n\r\nhttps://outbox.example/verify/…\r\n', 'UTF8'),
     '2025-02-28 10:00:01+00');
`

// TestUpgradeFromWave1 fills a database of wave 1's schema with a wave-1
// tenant's every kind of row, migrates it to the newest version, and finds
// every row of every table as it was, each tenant's settings now its sender
// "default", and the new keys enforced.
func TestUpgradeFromWave1(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A server of its own: the shared test databases are migrated already.
	srv, err := pgserver.StartTemporary(ctx, pgserver.Options{Database: "upgrade"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	pool, err := pgxpool.New(ctx, srv.URL())
	require.NoError(t, err)
	defer pool.Close()

	require.NoError(t, db.MigrateTo(ctx, srv.URL(), wave1Version))
	require.Equal(t, int32(wave1Version), schemaVersion(ctx, t, pool))
	require.ErrorIs(t, db.CheckMigrated(ctx, pool), db.ErrMigrationsPending)
	_, err = pool.Exec(ctx, wave1Data)
	require.NoError(t, err, "writing wave-1 data")
	before := takeSnapshot(ctx, t, pool)
	for _, table := range []string{"tenants", "sender_settings", "sender_tests", "sender_drafts", "sender_verifications",
		"sender_verification_tokens", "messages", "message_attempts", "message_events", "suppressions", "idempotency_keys",
		"templates", "audit_log", "partner_clients", "partner_keys", "partner_token_ids", "ratelimit_accounts",
		"ratelimit_reservations", "dev_mailbox"} {
		require.NotEmpty(t, before.rows[table], "wave-1 data in %s", table)
	}
	require.Len(t, before.rows["sender_settings"], 3)
	require.Len(t, before.rows["messages"], 12)

	require.NoError(t, db.Migrate(ctx, srv.URL()))
	require.NoError(t, db.CheckMigrated(ctx, pool))
	after := takeSnapshot(ctx, t, pool)

	t.Run("every row of wave 1 is unchanged", func(t *testing.T) {
		for table, oldCols := range before.columns {
			newCols := after.columns[table]
			require.NotNil(t, newCols, "table %s is gone", table)
			require.ElementsMatch(t, append(append([]string{}, oldCols...), addedBy010[table]...), newCols,
				"the columns of %s: the old ones and those 010 adds", table)
			require.Equal(t, canonical(t, before.rows[table], rewrittenBy014[table]), canonical(t, after.rows[table], append(slices.Clone(addedBy010[table]), rewrittenBy014[table]...)),
				"the rows of %s, without the columns 010 adds", table)
		}
		for table, rows := range after.rows {
			if _, old := before.columns[table]; !old && table != "messages_by_status" {
				require.Empty(t, rows, "new table %s starts empty", table)
			}
		}
	})

	t.Run("messages_by_status starts with the messages that are not SENT", func(t *testing.T) {
		requireStatusesMirrored(t, pool, "025")
		require.Len(t, after.rows["messages_by_status"], 6)
	})

	t.Run("suppressions are bounces of all mail, templates and messages TRANSACTIONAL", func(t *testing.T) {
		var reason, scope, detail string
		require.NoError(t, pool.QueryRow(ctx, `SELECT reason, scope, detail FROM suppressions WHERE email = 'gone@customer.example'`).Scan(&reason, &scope, &detail))
		require.Equal(t, []string{"BOUNCE", "ALL", "550 5.1.1 User unknown"}, []string{reason, scope, detail})
		var other int
		require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM templates WHERE category <> 'TRANSACTIONAL')
			+ (SELECT count(*) FROM messages WHERE category <> 'TRANSACTIONAL')`).Scan(&other))
		require.Zero(t, other)
	})

	t.Run("each tenant's settings are its sender default", func(t *testing.T) {
		rows, err := pool.Query(ctx, `SELECT tenant_id::text, key, name, owner_subject FROM sender_settings ORDER BY tenant_id`)
		require.NoError(t, err)
		type sender struct {
			Tenant, Key, Name string
			Owner             *string
		}
		senders, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sender])
		require.NoError(t, err)
		require.Len(t, senders, 3)
		for _, s := range senders {
			require.Equal(t, "default", s.Key, s.Tenant)
			require.NotEmpty(t, s.Name, s.Tenant)
			require.Nil(t, s.Owner, "%s: a sender of the tenant, not a member's", s.Tenant)
		}

		// The SMTP sender, spelled out: its mode, identity, BCC, transport,
		// sealed secret and health are those wave 1 saved.
		var (
			mode, fromName, fromEmail, replyTo, contact, archive, keyID, healthMessage, healthCategory string
			bcc                                                                                        []string
			transport, secret                                                                          []byte
			healthOK                                                                                   bool
			healthAt                                                                                   time.Time
		)
		require.NoError(t, pool.QueryRow(ctx, `
			SELECT mode, from_name, from_email, reply_to, contact_email, bcc, archive_copy_to, transport::text, secret_key_id, secret,
			       health_ok, health_message, health_category, health_updated_at
			FROM sender_settings WHERE tenant_id = 'a0000000-0000-4000-8000-000000000001' AND key = 'default'`).
			Scan(&mode, &fromName, &fromEmail, &replyTo, &contact, &bcc, &archive, &transport, &keyID, &secret,
				&healthOK, &healthMessage, &healthCategory, &healthAt))
		require.Equal(t, "SMTP", mode)
		require.Equal(t, []string{"Acme Shop", "orders@acme.example", "support@acme.example", "contact@acme.example", "archive@acme.example"},
			[]string{fromName, fromEmail, replyTo, contact, archive})
		require.Equal(t, []string{"audit@acme.example", "ops@acme.example"}, bcc)
		require.JSONEq(t, `{"smtp": {"Preset": "office365", "Host": "smtp.office365.com", "Port": 587, "Security": "STARTTLS", "Auth": "LOGIN",
			"Username": "orders@acme.example", "SkipTLSVerify": false,
			"Limits": {"PerSecond": 0, "PerMinute": 30, "PerHour": 0, "PerDay": 10000, "RecipientsPerDay": 10000, "RecipientsPerMessage": 500}}}`,
			string(transport))
		require.Equal(t, "key-2025-01", keyID)
		require.Equal(t, "5f3a9c0d11e2b7a48c66f0e19d2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80", fmt.Sprintf("%x", secret))
		require.False(t, healthOK)
		require.Equal(t, "454 4.7.0 Too many connections, try again later", healthMessage)
		require.Equal(t, "THROTTLED", healthCategory)
		require.True(t, healthAt.Equal(time.Date(2025, 4, 1, 10, 15, 0, 0, time.UTC)))

		var branded string
		require.NoError(t, pool.QueryRow(ctx, `SELECT mode || ' ' || from_email FROM sender_settings
			WHERE tenant_id = 'b0000000-0000-4000-8000-000000000002' AND key = 'default'`).Scan(&branded))
		require.Equal(t, "BRANDED news@globex.example", branded)
	})

	t.Run("tests, drafts, verifications and messages belong to the sender default", func(t *testing.T) {
		for table, want := range map[string]int{"sender_tests": 1, "sender_drafts": 1, "sender_verifications": 2, "messages": 12} {
			var all, onDefault int
			require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE sender_key = 'default') FROM `+table).Scan(&all, &onDefault))
			require.Equal(t, want, all, table)
			require.Equal(t, all, onDefault, "%s on the sender default", table)
		}
		var verified, pending int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE verified_at IS NOT NULL), count(*) FILTER (WHERE verified_at IS NULL)
			FROM sender_verifications WHERE tenant_id = 'b0000000-0000-4000-8000-000000000002' AND sender_key = 'default'`).Scan(&verified, &pending))
		require.Equal(t, []int{1, 1}, []int{verified, pending})

		// Every attempt and event still hangs off its message, of its tenant.
		var attempts, events int
		require.NoError(t, pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM message_attempts a JOIN messages m ON m.id = a.message_id AND m.tenant_id = a.tenant_id),
			(SELECT count(*) FROM message_events e JOIN messages m ON m.id = e.message_id AND m.tenant_id = e.tenant_id)`).Scan(&attempts, &events))
		require.Equal(t, len(before.rows["message_attempts"]), attempts)
		require.Equal(t, len(before.rows["message_events"]), events)
		require.Equal(t, 9, attempts)
		require.Equal(t, 22, events)
	})

	t.Run("tenants are active on the configured defaults", func(t *testing.T) {
		var tenants, active int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'ACTIVE' AND entitlements IS NULL
			AND status_reason = '' AND status_changed_at IS NULL) FROM tenants`).Scan(&tenants, &active))
		require.Equal(t, 3, tenants)
		require.Equal(t, tenants, active)
	})

	t.Run("every table has as many rows as before", func(t *testing.T) {
		for table, rows := range before.rows {
			var n int
			require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n))
			require.Equal(t, len(rows), n, table)
		}
	})

	t.Run("migrating again is a no-op", func(t *testing.T) {
		version := schemaVersion(ctx, t, pool)
		require.NoError(t, db.Migrate(ctx, srv.URL()))
		require.Equal(t, version, schemaVersion(ctx, t, pool))
		again := takeSnapshot(ctx, t, pool)
		require.Equal(t, after.columns, again.columns)
		for table, rows := range after.rows {
			require.Equal(t, canonical(t, rows, nil), canonical(t, again.rows[table], nil), table)
		}
	})

	t.Run("a tenant can have several senders, each key once", func(t *testing.T) {
		const globex, acme = "b0000000-0000-4000-8000-000000000002", "a0000000-0000-4000-8000-000000000001"
		addSender := `INSERT INTO sender_settings (tenant_id, key, name, mode, from_email) VALUES ($1, $2, $3, 'BRANDED', 'vendor@globex.example')`
		_, err := pool.Exec(ctx, addSender, globex, "vendor-1", "Vendor 1")
		require.NoError(t, err)
		_, err = pool.Exec(ctx, addSender, acme, "vendor-1", "Acme's vendor")
		require.NoError(t, err, "a key is unique per tenant, not across tenants")
		_, err = pool.Exec(ctx, addSender, globex, "vendor-1", "Vendor 1 again")
		requireSQLState(t, err, "23505")
		_, err = pool.Exec(ctx, addSender, globex, "default", "A second default")
		requireSQLState(t, err, "23505")

		// A test and a draft of acme's new sender stand beside those of its default.
		_, err = pool.Exec(ctx, `INSERT INTO sender_tests (id, tenant_id, sender_key, settings, fingerprint, test_recipient, message_id)
			VALUES ('a2000000-0000-4000-8000-000000000002', $1, 'vendor-1', '{}', 'key-2025-01:00', 'owner@acme.example',
			        'a1000000-0000-4000-8000-000000000001')`, acme)
		require.NoError(t, err)
		addDraft := `INSERT INTO sender_drafts (tenant_id, sender_key, test_id, fingerprint)
			VALUES ($1, 'vendor-1', 'a2000000-0000-4000-8000-000000000002', 'key-2025-01:00')`
		_, err = pool.Exec(ctx, addDraft, acme)
		require.NoError(t, err, "a draft per sender")
		_, err = pool.Exec(ctx, addDraft, acme)
		requireSQLState(t, err, "23505")

		addVerification := `INSERT INTO sender_verifications (tenant_id, sender_key, email, expires_at, last_sent_at)
			VALUES ($1, $2, $3, now() + interval '1 day', now())`
		_, err = pool.Exec(ctx, addVerification, globex, "vendor-1", "News@globex.example")
		require.NoError(t, err, "the same address under another sender")
		_, err = pool.Exec(ctx, addVerification, globex, "vendor-1", "news@GLOBEX.example")
		requireSQLState(t, err, "23505")
		_, err = pool.Exec(ctx, addVerification, globex, "default", "NEWS@globex.example")
		requireSQLState(t, err, "23505")
		_, err = pool.Exec(ctx, addVerification, globex, "no-such-sender", "other@globex.example")
		requireSQLState(t, err, "23503")
	})
}

// snapshot is every row of every table of the public schema but tern's
// version table, each row as the JSON object to_jsonb makes of it, and the
// tables' columns.
type snapshot struct {
	columns map[string][]string
	rows    map[string][]map[string]any
}

func takeSnapshot(ctx context.Context, t *testing.T, pool *pgxpool.Pool) snapshot {
	t.Helper()
	s := snapshot{columns: map[string][]string{}, rows: map[string][]map[string]any{}}
	rows, err := pool.Query(ctx, `SELECT table_name::text, column_name::text FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name <> 'schema_version'
		  AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')
		ORDER BY table_name, ordinal_position`)
	require.NoError(t, err)
	var table, column string
	_, err = pgx.ForEachRow(rows, []any{&table, &column}, func() error {
		s.columns[table] = append(s.columns[table], column)
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, s.columns, "messages")
	for table := range s.columns {
		var raw []byte
		require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]')::text FROM `+pgx.Identifier{table}.Sanitize()+` t`).Scan(&raw))
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var tableRows []map[string]any
		require.NoError(t, dec.Decode(&tableRows), table)
		s.rows[table] = tableRows
	}
	return s
}

// canonical returns rows without the columns drop, each as JSON with its
// keys sorted, in sorted order: equal for equal rows whatever order the
// table returned them in.
func canonical(t *testing.T, rows []map[string]any, drop []string) []string {
	t.Helper()
	out := make([]string, 0, len(rows))
	for _, row := range rows {
		kept := make(map[string]any, len(row))
		for k, v := range row {
			kept[k] = v
		}
		for _, k := range drop {
			delete(kept, k)
		}
		b, err := json.Marshal(kept)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

func schemaVersion(ctx context.Context, t *testing.T, pool *pgxpool.Pool) int32 {
	t.Helper()
	var v int32
	require.NoError(t, pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v))
	return v
}

// requireSQLState requires err to be a PostgreSQL error with the SQLSTATE
// code (23505 unique violation, 23503 foreign key violation).
func requireSQLState(t *testing.T, err error, code string) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
}
