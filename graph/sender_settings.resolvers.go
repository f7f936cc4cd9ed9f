package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/sender"
)

// SenderSettings returns how the tenant's mail is sent now.
func (r *queryResolver) SenderSettings(ctx context.Context) (*model.SenderSettings, error) {
	v, err := r.Sender.Current(ctx)
	if err != nil {
		return nil, err
	}
	return senderSettingsModel(v), nil
}

func senderSettingsModel(v sender.View) *model.SenderSettings {
	m := &model.SenderSettings{
		Mode:          model.SenderMode(v.Mode),
		FromName:      v.FromName,
		FromEmail:     v.FromEmail,
		ReplyTo:       optional(v.ReplyTo),
		ContactEmail:  optional(v.ContactEmail),
		Bcc:           v.BCC,
		ArchiveCopyTo: optional(v.ArchiveCopyTo),
		Health:        &model.SenderHealth{Ok: v.Health.OK, Message: optional(v.Health.Message)},
		Limits:        limitsModel(v.Limits),
		UpdatedAt:     v.UpdatedAt,
	}
	if m.Bcc == nil {
		m.Bcc = []string{}
	}
	if v.Health.Category != "" {
		c := model.ErrorCategory(v.Health.Category)
		m.Health.Category = &c
	}
	if !v.Health.UpdatedAt.IsZero() {
		m.Health.UpdatedAt = &v.Health.UpdatedAt
	}
	if s := v.SMTP; s != nil {
		m.SMTP = &model.SMTPSettings{
			Preset:        optional(s.Preset),
			Host:          s.Host,
			Port:          s.Port,
			Security:      model.SMTPSecurity(s.Security),
			Auth:          model.SMTPAuth(s.Auth),
			Username:      optional(s.Username),
			PasswordSet:   v.PasswordSet,
			SkipTLSVerify: s.SkipTLSVerify,
		}
	}
	if h := v.HTTP; h != nil {
		m.HTTP = &model.HTTPAPISettings{URL: h.URL, AuthHeader: h.AuthHeader, AuthValueSet: v.AuthValueSet}
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

