-- name: TenantEventInsert :one
INSERT INTO tenant_events (tenant_id, type, subject, payload)
VALUES (@tenant_id, @type, @subject, @payload)
RETURNING *;

-- name: TenantEventList :many
-- The tenant's events after an id, oldest first.
SELECT * FROM tenant_events
WHERE tenant_id = @tenant_id AND id > @after_id
ORDER BY id
LIMIT @max;
