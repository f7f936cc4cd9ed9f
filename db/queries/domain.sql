-- name: SendingDomainInsert :one
-- Adds a domain; no row when the tenant has it already.
INSERT INTO sending_domains (tenant_id, domain, dkim_selector, dkim_key_id, dkim_key, records)
VALUES (@tenant_id, @domain, @dkim_selector, @dkim_key_id, @dkim_key, @records)
ON CONFLICT (tenant_id, domain) DO NOTHING
RETURNING *;

-- name: SendingDomainList :many
SELECT * FROM sending_domains WHERE tenant_id = @tenant_id ORDER BY domain, id;

-- name: SendingDomainGet :one
SELECT * FROM sending_domains WHERE tenant_id = @tenant_id AND id = @id;

-- name: SendingDomainGetForUpdate :one
SELECT * FROM sending_domains WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: SendingDomainGetByName :one
SELECT * FROM sending_domains WHERE tenant_id = @tenant_id AND domain = @domain;

-- name: SendingDomainSetKeys :one
-- Stores a domain's keys: the signing one and a rotation's pending one.
UPDATE sending_domains
SET dkim_selector = @dkim_selector, dkim_key_id = @dkim_key_id, dkim_key = @dkim_key,
    pending_selector = @pending_selector, pending_key_id = @pending_key_id, pending_key = @pending_key,
    records = @records, updated_at = @now
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: SendingDomainSetChecked :one
-- Records a check's outcome.
UPDATE sending_domains
SET status = @status, records = @records, last_checked_at = @now, updated_at = @now
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: SendingDomainDelete :execrows
DELETE FROM sending_domains WHERE tenant_id = @tenant_id AND id = @id;

-- name: SendingDomainsDue :many
-- The domains the periodic check looks at next: checked before @before
-- (or never), least recently checked first.
SELECT tenant_id, id FROM sending_domains
WHERE last_checked_at IS NULL OR last_checked_at < @before
ORDER BY last_checked_at NULLS FIRST, id
LIMIT @max_rows;
