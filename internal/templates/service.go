package templates

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
)

// Service lists, saves and previews a tenant's templates. Methods called for
// a request take the tenant from ctx.
type Service struct {
	store  *db.Store
	limits Limits
}

// NewService returns a Service storing templates in store and rendering
// previews within limits (zero fields take DefaultLimits).
func NewService(store *db.Store, limits Limits) *Service {
	return &Service{store: store, limits: limits.withDefaults()}
}

// Limits returns the rendering limits, for the senders that render with
// the same ones.
func (s *Service) Limits() Limits { return s.limits }

// List returns the tenant's templates sorted by key: each built-in one (or
// the tenant's own version of it) and every key the tenant added.
func (s *Service) List(ctx context.Context) ([]Template, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return nil, err
	}
	saved, err := s.store.TemplateList(ctx, tenant.ID)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]Template, len(saved)+len(builtIns))
	for _, t := range BuiltIns() {
		byKey[t.Key] = t
	}
	for _, t := range saved {
		byKey[t.Key] = t
	}
	out := make([]Template, 0, len(byKey))
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[key])
	}
	return out, nil
}

// Upsert validates t (see Check) and saves it as the tenant's template of
// t.Key, replacing a built-in or earlier version, with an audit entry. It
// returns EINVALID naming the field (and for template errors the line).
func (s *Service) Upsert(ctx context.Context, t Template) (Template, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Template{}, err
	}
	t.Key = strings.TrimSpace(t.Key)
	if err := Check(t); err != nil {
		return Template{}, err
	}
	t.Category = t.Category.OrTransactional()
	var saved Template
	err = s.store.InTx(ctx, func(tx *db.Tx) error {
		if saved, err = tx.TemplateUpsert(ctx, tenant.ID, t); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "template.upsert", t.Key, nil, map[string]any{
			"key": t.Key, "category": t.Category, "subject": t.Subject, "textBytes": len(t.Text), "htmlBytes": len(t.HTML),
		})
	})
	return saved, err
}

// Resolve returns the templates that a send of keys uses for the tenant:
// its own where it saved one, else the built-in. A key with neither is
// missing from the map.
func (s *Service) Resolve(ctx context.Context, tenantID uuid.UUID, keys []string) (map[string]Template, error) {
	out := make(map[string]Template, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	saved, err := s.store.TemplateGetMany(ctx, tenantID, keys)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if b, ok := BuiltIn(key); ok {
			out[key] = b
		}
	}
	for _, t := range saved {
		out[t.Key] = t
	}
	return out, nil
}

// PreviewInput is what to preview: a stored (or built-in) template by Key,
// any part of it replaced by the inline sources, or a template given only
// inline. Variables default to the built-in samples of Key.
type PreviewInput struct {
	Key                 string
	Subject, Text, HTML *string
	Variables           map[string]any
}

// Preview renders a template as a send would, with the tenant's shop
// variables and in.Variables laid over the sample variables of in.Key. It
// returns ENOTFOUND for an unknown key without inline sources and EINVALID
// (field and line) for a template that would not save or not render.
func (s *Service) Preview(ctx context.Context, in PreviewInput) (Rendered, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Rendered{}, err
	}
	t := Template{Key: "preview"}
	if in.Key != "" {
		if err := CheckKey("key", in.Key); err != nil {
			return Rendered{}, err
		}
		found, err := s.Resolve(ctx, tenant.ID, []string{in.Key})
		if err != nil {
			return Rendered{}, err
		}
		base, ok := found[in.Key]
		if !ok && in.Subject == nil {
			return Rendered{}, outbox.Errorf(outbox.ENOTFOUND, "template %q not found", in.Key)
		}
		t = base
		t.Key = in.Key
	}
	for _, o := range []struct {
		dst *string
		src *string
	}{{&t.Subject, in.Subject}, {&t.Text, in.Text}, {&t.HTML, in.HTML}} {
		if o.src != nil {
			*o.dst = *o.src
		}
	}
	if err := Check(t); err != nil {
		return Rendered{}, err
	}
	settings, err := s.store.SenderSettingsGet(ctx, tenant.ID, outbox.DefaultSender)
	if err != nil {
		return Rendered{}, err
	}
	vars := SampleVariables(in.Key)
	if vars == nil {
		vars = map[string]any{}
	}
	maps.Copy(vars, in.Variables)
	return Render(t, Variables(in.Key, ShopOf(tenant, settings), vars), s.limits)
}

// ShopOf returns the shop variables of a tenant with the given settings:
// the From name or else the tenant's name, and the contact, reply-to or
// (outside PLATFORM mode, where From is the platform's) From address.
func ShopOf(tenant outbox.Tenant, settings outbox.SenderSettings) Shop {
	shop := Shop{Name: settings.FromName, ContactEmail: settings.ContactEmail}
	if shop.Name == "" {
		shop.Name = tenant.Name
	}
	if shop.ContactEmail == "" {
		shop.ContactEmail = settings.ReplyTo
	}
	if shop.ContactEmail == "" && settings.Mode != outbox.ModePlatform {
		shop.ContactEmail = settings.FromEmail
	}
	return shop
}
