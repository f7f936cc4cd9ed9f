package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/templates"
)

// Templates lists the tenant's templates, built-in defaults included.
func (r *queryResolver) Templates(ctx context.Context) ([]model.Template, error) {
	list, err := r.Resolver.Templates.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.Template, len(list))
	for i, t := range list {
		out[i] = *templateModel(t)
	}
	return out, nil
}

// TemplatePreview renders a template with sample variables.
func (r *queryResolver) TemplatePreview(ctx context.Context, input model.TemplatePreviewInput) (*model.TemplatePreview, error) {
	out, err := r.Resolver.Templates.Preview(ctx, templates.PreviewInput{
		Key: deref(input.Key), Subject: input.Subject, Text: input.Text, HTML: input.HTML, Variables: input.Variables,
	})
	if err != nil {
		return nil, err
	}
	return &model.TemplatePreview{Subject: out.Subject, Text: optional(out.Text), HTML: optional(out.HTML)}, nil
}

// UpsertTemplate validates and stores a template.
func (r *mutationResolver) UpsertTemplate(ctx context.Context, input model.TemplateInput) (*model.Template, error) {
	t, err := r.Resolver.Templates.Upsert(ctx, templates.Template{
		Key: input.Key, Subject: input.Subject, Text: deref(input.Text), HTML: deref(input.HTML),
		Category: deref(input.Category),
	})
	if err != nil {
		return nil, err
	}
	return templateModel(t), nil
}

func templateModel(t templates.Template) *model.Template {
	return &model.Template{
		Key: t.Key, Subject: t.Subject, Text: optional(t.Text), HTML: optional(t.HTML),
		Category: t.Category.OrTransactional(), BuiltIn: t.BuiltIn, UpdatedAt: t.UpdatedAt,
	}
}
