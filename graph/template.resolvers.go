package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
)

// Templates lists the tenant's templates, built-in defaults included.
func (r *queryResolver) Templates(ctx context.Context) ([]model.Template, error) {
	return nil, errUnbuilt
}

// TemplatePreview renders a template with sample variables.
func (r *queryResolver) TemplatePreview(ctx context.Context, input model.TemplatePreviewInput) (*model.TemplatePreview, error) {
	return nil, errUnbuilt
}

// UpsertTemplate validates and stores a template.
func (r *mutationResolver) UpsertTemplate(ctx context.Context, input model.TemplateInput) (*model.Template, error) {
	return nil, errUnbuilt
}
