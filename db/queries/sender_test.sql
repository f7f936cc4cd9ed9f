-- name: SenderTestInsert :one
INSERT INTO sender_tests (tenant_id, sender_key, settings, secret_key_id, secret, fingerprint, test_recipient, message_id)
VALUES (@tenant_id, @sender_key, @settings, sqlc.narg(secret_key_id), sqlc.narg(secret), @fingerprint, @test_recipient, @message_id)
RETURNING *;

-- name: SenderTestGet :one
SELECT * FROM sender_tests WHERE tenant_id = @tenant_id AND id = @id;

-- name: SenderTestStart :one
-- Claims a PENDING test for running; no row when it already ran.
UPDATE sender_tests SET status = 'RUNNING'
WHERE tenant_id = @tenant_id AND id = @id AND status = 'PENDING'
RETURNING *;

-- name: SenderTestFinish :one
UPDATE sender_tests
SET status = @status, steps = @steps, error = sqlc.narg(error), finished_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: SenderDraftUpsert :exec
INSERT INTO sender_drafts (tenant_id, sender_key, test_id, fingerprint)
VALUES (@tenant_id, @sender_key, @test_id, @fingerprint)
ON CONFLICT (tenant_id, sender_key) DO UPDATE SET test_id = EXCLUDED.test_id, fingerprint = EXCLUDED.fingerprint, updated_at = now();

-- name: SenderDraftGet :one
SELECT * FROM sender_drafts WHERE tenant_id = @tenant_id AND sender_key = @sender_key;
