package db

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/internal/outbox"
)

// TemplateList returns the templates the tenant saved, by key.
func (s *Store) TemplateList(ctx context.Context, tenantID uuid.UUID) ([]outbox.Template, error) {
	rows, err := s.q.TemplateList(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("loading templates: %w", err)
	}
	return templatesFromRows(rows), nil
}

// TemplateGetMany returns those of the tenant's saved templates whose key
// is in keys, in no particular order.
func (s *Store) TemplateGetMany(ctx context.Context, tenantID uuid.UUID, keys []string) ([]outbox.Template, error) {
	rows, err := s.q.TemplateGetMany(ctx, dbsqlc.TemplateGetManyParams{TenantID: tenantID, Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("loading templates: %w", err)
	}
	return templatesFromRows(rows), nil
}

// TemplateUpsert saves t as the tenant's template of t.Key, replacing an
// earlier version, and returns it as stored.
func (tx *Tx) TemplateUpsert(ctx context.Context, tenantID uuid.UUID, t outbox.Template) (outbox.Template, error) {
	row, err := tx.q.TemplateUpsert(ctx, dbsqlc.TemplateUpsertParams{
		TenantID: tenantID, Key: t.Key, Subject: t.Subject, TextBody: t.Text, HtmlBody: t.HTML,
		Category: string(t.Category.OrTransactional()),
	})
	if err != nil {
		return outbox.Template{}, fmt.Errorf("saving template: %w", err)
	}
	return templateFromRow(row), nil
}

func templatesFromRows(rows []dbsqlc.Template) []outbox.Template {
	out := make([]outbox.Template, len(rows))
	for i, row := range rows {
		out[i] = templateFromRow(row)
	}
	return out
}

func templateFromRow(row dbsqlc.Template) outbox.Template {
	updated := row.UpdatedAt
	return outbox.Template{Key: row.Key, Subject: row.Subject, Text: row.TextBody, HTML: row.HtmlBody, Category: outbox.TemplateCategory(row.Category), UpdatedAt: &updated}
}
