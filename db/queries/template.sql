-- Notification templates (internal/templates): a tenant's own templates by
-- event key. Built-in defaults live in code and are not stored.

-- name: TemplateList :many
SELECT * FROM templates WHERE tenant_id = @tenant_id ORDER BY key;

-- name: TemplateGetMany :many
-- The tenant's templates with the given keys (those that exist).
SELECT * FROM templates WHERE tenant_id = @tenant_id AND key = ANY (@keys::text[]);

-- name: TemplateUpsert :one
INSERT INTO templates (tenant_id, key, subject, text_body, html_body, category)
VALUES (@tenant_id, @key, @subject, @text_body, @html_body, @category)
ON CONFLICT (tenant_id, key) DO UPDATE
SET subject = EXCLUDED.subject, text_body = EXCLUDED.text_body, html_body = EXCLUDED.html_body,
    category = EXCLUDED.category, updated_at = now()
RETURNING *;
