package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/outbox"
)

// SendingDomains lists the tenant's sending domains.
func (r *queryResolver) SendingDomains(ctx context.Context) ([]model.SendingDomain, error) {
	list, err := r.Domains.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.SendingDomain, len(list))
	for i, d := range list {
		out[i] = *sendingDomainModel(d)
	}
	return out, nil
}

// AddSendingDomain adds a domain with a new DKIM key.
func (r *mutationResolver) AddSendingDomain(ctx context.Context, domain string) (*model.SendingDomain, error) {
	d, err := r.Domains.Add(ctx, domain)
	if err != nil {
		return nil, err
	}
	return sendingDomainModel(d), nil
}

// CheckSendingDomain checks a domain's records now.
func (r *mutationResolver) CheckSendingDomain(ctx context.Context, id string) (*model.SendingDomain, error) {
	uid, err := parseID(id, "sending domain")
	if err != nil {
		return nil, err
	}
	d, err := r.Domains.Check(ctx, uid)
	if err != nil {
		return nil, err
	}
	return sendingDomainModel(d), nil
}

// RotateDkimKey starts a key rotation.
func (r *mutationResolver) RotateDkimKey(ctx context.Context, id string) (*model.SendingDomain, error) {
	uid, err := parseID(id, "sending domain")
	if err != nil {
		return nil, err
	}
	d, err := r.Domains.Rotate(ctx, uid)
	if err != nil {
		return nil, err
	}
	return sendingDomainModel(d), nil
}

// RemoveSendingDomain removes a domain and its keys.
func (r *mutationResolver) RemoveSendingDomain(ctx context.Context, id string) (bool, error) {
	uid, err := parseID(id, "sending domain")
	if err != nil {
		return false, nil // an id that cannot exist: nothing removed
	}
	return r.Domains.Remove(ctx, uid)
}

// SenderSettings returns the resolver of the SenderSettings type's lazy
// fields.
func (r *Resolver) SenderSettings() SenderSettingsResolver { return &senderSettingsResolver{r} }

type senderSettingsResolver struct{ *Resolver }

// Deliverability says what receivers will make of the sender's mail.
func (r *senderSettingsResolver) Deliverability(ctx context.Context, obj *model.SenderSettings) (*model.Deliverability, error) {
	d, err := r.Domains.Deliverability(ctx, obj.EffectiveMode, obj.FromEmail)
	if err != nil {
		return nil, err
	}
	return &model.Deliverability{
		FromDomain: d.FromDomain, Authenticated: d.Authenticated, DmarcPolicy: optional(d.DMARCPolicy),
		Aligned: d.Aligned, EffectiveFrom: d.EffectiveFrom, Warnings: d.Warnings,
	}, nil
}

func sendingDomainModel(d outbox.SendingDomain) *model.SendingDomain {
	m := &model.SendingDomain{
		ID: d.ID.String(), Domain: d.Domain, Status: d.Status, DkimSelector: d.Selector,
		LastCheckedAt: d.LastCheckedAt, CreatedAt: d.CreatedAt, Records: make([]model.DNSRecord, len(d.Records)),
	}
	for i, r := range d.Records {
		m.Records[i] = model.DNSRecord{
			Purpose: r.Purpose, Type: r.Type, Name: r.Name, Value: r.Value, Status: r.Status,
			Found: append([]string{}, r.Found...), Hint: optional(r.Hint),
		}
	}
	return m
}
