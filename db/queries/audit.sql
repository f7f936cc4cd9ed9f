-- name: AuditInsert :one
INSERT INTO audit_log (tenant_id, actor_kind, actor, action, target, request_id, before, after)
VALUES (@tenant_id, @actor_kind, @actor, @action, @target, @request_id, @before, @after)
RETURNING *;

-- name: AuditListByTenant :many
SELECT * FROM audit_log
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(before_id)::bigint IS NULL OR id < sqlc.narg(before_id)::bigint)
ORDER BY id DESC
LIMIT @max_rows;
