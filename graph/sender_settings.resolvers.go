package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
)

// SenderSettings returns how one sender's mail is sent now.
func (r *queryResolver) SenderSettings(ctx context.Context, key *string) (*model.SenderSettings, error) {
	v, err := r.Sender.Current(ctx, deref(key))
	if err != nil {
		return nil, err
	}
	return senderSettingsModel(v), nil
}

// Senders lists the tenant's senders.
func (r *queryResolver) Senders(ctx context.Context) ([]model.SenderSettings, error) {
	views, err := r.Sender.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.SenderSettings, len(views))
	for i, v := range views {
		out[i] = *senderSettingsModel(v)
	}
	return out, nil
}

// CreateSender adds a sender.
func (r *mutationResolver) CreateSender(ctx context.Context, input model.CreateSenderInput) (*model.SenderSettings, error) {
	v, err := r.Sender.Create(ctx, sender.NewSender{Key: input.Key, Name: input.Name, Personal: input.Personal != nil && *input.Personal})
	if err != nil {
		return nil, err
	}
	return senderSettingsModel(v), nil
}

// DeleteSender removes a sender.
func (r *mutationResolver) DeleteSender(ctx context.Context, key string) (bool, error) {
	if err := r.Sender.Delete(ctx, key); err != nil {
		return false, err
	}
	return true, nil
}

// UpdateSenderProfile changes a sender's profile without a test.
func (r *mutationResolver) UpdateSenderProfile(ctx context.Context, input model.SenderProfileInput) (*model.SenderSettings, error) {
	p := sender.Profile{FromName: input.FromName, ReplyTo: input.ReplyTo, ContactEmail: input.ContactEmail, ArchiveCopyTo: input.ArchiveCopyTo}
	if input.Bcc != nil {
		p.BCC = &input.Bcc
	}
	v, err := r.Sender.UpdateProfile(ctx, deref(input.Sender), p)
	if err != nil {
		return nil, err
	}
	return senderSettingsModel(v), nil
}

func senderSettingsModel(v sender.View) *model.SenderSettings {
	m := &model.SenderSettings{
		Key:           v.Key,
		Name:          v.Name,
		OwnerSubject:  optional(v.OwnerSubject),
		Mode:          v.Mode,
		EffectiveMode: v.EffectiveMode,
		FromName:      v.FromName,
		FromEmail:     v.FromEmail,
		ReplyTo:       optional(v.ReplyTo),
		ContactEmail:  optional(v.ContactEmail),
		Bcc:           v.BCC,
		ArchiveCopyTo: optional(v.ArchiveCopyTo),
		Health:        &model.SenderHealth{Ok: v.Health.OK, Status: v.Health.Status, Message: optional(v.Health.Message)},
		Limits:        limitsModel(v.Limits),
		UpdatedAt:     v.UpdatedAt,
	}
	if m.Bcc == nil {
		m.Bcc = []string{}
	}
	if v.Health.Category != "" {
		m.Health.Category = &v.Health.Category
	}
	if !v.Health.UpdatedAt.IsZero() {
		m.Health.UpdatedAt = &v.Health.UpdatedAt
	}
	if s := v.SMTP; s != nil {
		m.SMTP = &model.SMTPSettings{
			Preset:          optional(s.Preset),
			Host:            s.Host,
			Port:            s.Port,
			Security:        s.Security,
			Auth:            s.Auth,
			Username:        optional(s.Username),
			PasswordSet:     v.PasswordSet,
			SkipTLSVerify:   s.SkipTLSVerify,
			OauthConnection: optional(s.OAuthConnection),
		}
	}
	if h := v.HTTP; h != nil {
		provider := h.Provider
		if h.IsGeneric() {
			provider = outbox.HTTPGeneric
		}
		m.HTTP = &model.HTTPAPISettings{
			Provider: provider, URL: h.EffectiveURL(), AuthHeader: h.AuthHeader, AuthValueSet: v.AuthValueSet,
			Domain: optional(h.Domain), Region: optional(h.Region), AccessKeyID: optional(h.AccessKeyID),
		}
	}
	return m
}

func limitsModel(l sender.Limits) *model.SendingLimits {
	return &model.SendingLimits{
		PerSecond:            positive(l.PerSecond),
		PerMinute:            positive(l.PerMinute),
		PerHour:              positive(l.PerHour),
		PerDay:               positive(l.PerDay),
		RecipientsPerDay:     positive(l.RecipientsPerDay),
		RecipientsPerMessage: positive(l.RecipientsPerMessage),
	}
}

// optional maps "" to null.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// positive maps 0 ("no limit") to null.
func positive(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// ProviderPresets lists the SMTP provider presets.
func (r *queryResolver) ProviderPresets(ctx context.Context) ([]model.ProviderPreset, error) {
	presets := sender.Presets()
	out := make([]model.ProviderPreset, len(presets))
	for i, p := range presets {
		out[i] = model.ProviderPreset{
			Key: p.Key, Name: p.Name, Host: optional(p.Host), HostPattern: optional(p.HostPattern),
			Port: p.Port, Security: p.Security, Auth: p.Auth,
			Limits: limitsModel(p.Limits), LimitsConfigurable: p.LimitsConfigurable, Note: optional(p.Note),
		}
		if p.OAuthProvider != "" {
			out[i].OauthProvider = &p.OAuthProvider
		}
	}
	return out, nil
}

// HTTPProviderPresets lists the HTTP mail APIs.
func (r *queryResolver) HTTPProviderPresets(ctx context.Context) ([]model.HTTPProviderPreset, error) {
	presets := sender.HTTPPresets()
	out := make([]model.HTTPProviderPreset, len(presets))
	for i, p := range presets {
		out[i] = model.HTTPProviderPreset{
			Provider: p.Provider, Name: p.Name, BaseURL: optional(p.BaseURL), AuthHeader: optional(p.AuthHeader),
			Needs: append([]string{}, p.Needs...), Limits: limitsModel(p.Limits), LimitsConfigurable: p.LimitsConfigurable,
			Note: optional(p.Note),
		}
	}
	return out, nil
}

// SenderTest returns one test send of the tenant's.
func (r *queryResolver) SenderTest(ctx context.Context, id string) (*model.SenderTest, error) {
	testID, err := parseID(id, "sender test")
	if err != nil {
		return nil, err
	}
	t, err := r.Sender.Test(ctx, testID)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return senderTestModel(t), nil
}

// TestSenderSettings stores a draft and starts its test send.
func (r *mutationResolver) TestSenderSettings(ctx context.Context, input model.SenderSettingsInput) (*model.SenderTest, error) {
	t, err := r.Sender.StartTest(ctx, deref(input.Sender), settingsFromInput(input), input.TestRecipient)
	if err != nil {
		return nil, err
	}
	return senderTestModel(t), nil
}

// SaveSenderSettings activates the settings of a passed test.
func (r *mutationResolver) SaveSenderSettings(ctx context.Context, testID string, key *string) (*model.SenderSettings, error) {
	id, err := parseID(testID, "sender test")
	if err != nil {
		return nil, err
	}
	v, err := r.Sender.Save(ctx, id, deref(key))
	if err != nil {
		return nil, err
	}
	return senderSettingsModel(v), nil
}

// UseDefaultSender returns to the platform's sender.
func (r *mutationResolver) UseDefaultSender(ctx context.Context, key *string) (*model.SenderSettings, error) {
	v, err := r.Sender.UseDefault(ctx, deref(key))
	if err != nil {
		return nil, err
	}
	return senderSettingsModel(v), nil
}

func settingsFromInput(in model.SenderSettingsInput) sender.Settings {
	s := sender.Settings{
		Mode:          in.Mode,
		FromName:      deref(in.FromName),
		FromEmail:     deref(in.FromEmail),
		ReplyTo:       deref(in.ReplyTo),
		ContactEmail:  deref(in.ContactEmail),
		BCC:           in.Bcc,
		ArchiveCopyTo: deref(in.ArchiveCopyTo),
	}
	if c := in.SMTP; c != nil {
		s.SMTP = &sender.SMTP{
			Preset: deref(c.Preset), Host: c.Host, Port: c.Port,
			Security: c.Security, Auth: c.Auth,
			Username: deref(c.Username), Password: deref(c.Password),
			SkipTLSVerify: c.SkipTLSVerify != nil && *c.SkipTLSVerify, Limits: limitsFromInput(c.Limits),
			OAuthConnection: deref(c.OauthConnection),
		}
	}
	if h := in.HTTP; h != nil {
		s.HTTP = &sender.HTTPAPI{
			URL: deref(h.URL), AuthHeader: deref(h.AuthHeader), AuthValue: deref(h.AuthValue),
			Domain: deref(h.Domain), Region: deref(h.Region), AccessKeyID: deref(h.AccessKeyID), Limits: limitsFromInput(h.Limits),
		}
		if h.Provider != nil {
			s.HTTP.Provider = *h.Provider
		}
	}
	return s
}

func limitsFromInput(in *model.SendingLimitsInput) sender.Limits {
	if in == nil {
		return sender.Limits{}
	}
	return sender.Limits{
		PerSecond: deref(in.PerSecond), PerMinute: deref(in.PerMinute), PerHour: deref(in.PerHour),
		PerDay: deref(in.PerDay), RecipientsPerDay: deref(in.RecipientsPerDay), RecipientsPerMessage: deref(in.RecipientsPerMessage),
	}
}

func senderTestModel(t sender.Test) *model.SenderTest {
	m := &model.SenderTest{
		ID: t.ID.String(), Status: t.Status, MessageID: t.MessageID.String(),
		CreatedAt: t.CreatedAt, FinishedAt: t.FinishedAt, Steps: make([]model.SenderTestStep, len(t.Steps)),
		Error: deliveryErrorModel(t.Error),
	}
	for i, s := range t.Steps {
		m.Steps[i] = model.SenderTestStep{Name: s.Name, Ok: s.OK, DurationMs: s.DurationMs, Detail: optional(s.Detail)}
	}
	return m
}

func deliveryErrorModel(e *outbox.DeliveryError) *model.DeliveryError {
	if e == nil {
		return nil
	}
	m := &model.DeliveryError{Category: e.Category, Message: e.Message, EnhancedCode: optional(e.EnhancedCode), Hint: optional(e.Hint)}
	if e.Code != 0 {
		code := e.Code
		m.Code = &code
	}
	return m
}
