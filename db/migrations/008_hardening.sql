-- 008_hardening: an idempotency key remembers what it was used for, and
-- sender settings fingerprints become keyed.
--
-- payload_hash is a SHA-256 of the request a key was first used with (its
-- recipients, template or subject and bodies, variables and attachments): a
-- repeat with the same request returns the first message, a different
-- request under the same live key is a conflict. Claims made before this
-- migration have none and match any request until they expire (24 h).
ALTER TABLE idempotency_keys ADD COLUMN payload_hash bytea;

-- Fingerprints of sender tests were a plain SHA-256 of the settings,
-- password included: an offline oracle for the password in a database
-- dump. They are now an HMAC naming its key ("<key id>:<hex>"); the old ones
-- are retired, so their tests must be run again before they can be saved.
UPDATE sender_tests SET fingerprint = 'retired' WHERE fingerprint NOT LIKE '%:%';
UPDATE sender_drafts SET fingerprint = 'retired' WHERE fingerprint NOT LIKE '%:%';
