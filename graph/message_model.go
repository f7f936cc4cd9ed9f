package graph

import (
	"github.com/google/uuid"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/outbox"
)

// messageModel maps a message to the GraphQL Message: the one mapping
// every resolver returning a Message uses (logs, subscriptions, sending).
// Attempts and events are left out: the Message resolver loads them when
// they are selected.
func messageModel(m outbox.Message) *model.Message {
	out := &model.Message{
		ID:             m.ID.String(),
		Sender:         m.Sender,
		Kind:           m.Kind,
		Status:         m.Status,
		From:           m.From,
		To:             nonNilStrings(m.To),
		Cc:             nonNilStrings(m.Cc),
		Subject:        m.Subject,
		Template:       optional(m.Template),
		IdempotencyKey: optional(m.IdempotencyKey),
		CreatedAt:      m.CreatedAt,
		UpdatedAt:      m.UpdatedAt,
		SentAt:         m.SentAt,
		LastError:      deliveryErrorModel(m.LastError),
		Metadata:       m.Metadata,
		Tags:           nonNilStrings(m.Tags),
		SendAt:         m.SendAt,
	}
	if m.ResentFrom != uuid.Nil {
		id := m.ResentFrom.String()
		out.ResentFrom = &id
	}
	return out
}

// messageModels maps messages with messageModel, in order.
func messageModels(ms []outbox.Message) []model.Message {
	out := make([]model.Message, len(ms))
	for i, m := range ms {
		out[i] = *messageModel(m)
	}
	return out
}

// storedMessageModel maps a message as read (with the error of reading
// it) with messageModel.
func storedMessageModel(m outbox.Message, err error) (*model.Message, error) {
	if err != nil {
		return nil, err
	}
	return messageModel(m), nil
}

// attemptModels maps a message's delivery attempts, in order.
func attemptModels(as []outbox.Attempt) []model.DeliveryAttempt {
	out := make([]model.DeliveryAttempt, len(as))
	for i, a := range as {
		out[i] = model.DeliveryAttempt{
			At: a.At, DurationMs: int(a.Duration.Milliseconds()), Server: optional(a.Server), EnhancedCode: optional(a.EnhancedCode),
			Reply: optional(a.Reply), TLSVersion: optional(a.TLSVersion), ProviderMessageID: optional(a.ProviderMessageID),
		}
		if a.Code != 0 {
			code := a.Code
			out[i].Code = &code
		}
		if a.Category != "" {
			out[i].Category = &a.Category
		}
	}
	return out
}

// eventModels maps a message's status changes, in order.
func eventModels(es []outbox.MessageEvent) []model.MessageEvent {
	out := make([]model.MessageEvent, len(es))
	for i, e := range es {
		out[i] = model.MessageEvent{Status: e.Status, At: e.At, Detail: optional(e.Detail)}
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
