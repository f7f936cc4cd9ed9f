package graph

import (
	"encoding/json"
	"fmt"

	"github.com/outbox/outbox/db/dbsqlc"
	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/outbox"
)

// messageModel maps a message row to the GraphQL Message: the one mapping
// every resolver returning a Message uses (logs, subscriptions, sending).
// Attempts and events are left out: the Message resolver loads them when
// they are selected. It fails only when the stored last error is not valid
// JSON.
func messageModel(row dbsqlc.Message) (*model.Message, error) {
	m := &model.Message{
		ID:             row.ID.String(),
		Kind:           model.MessageKind(row.Kind),
		Status:         model.MessageStatus(row.Status),
		From:           row.FromAddr,
		To:             nonNilStrings(row.ToAddrs),
		Cc:             nonNilStrings(row.CcAddrs),
		Subject:        row.Subject,
		Template:       row.TemplateKey,
		IdempotencyKey: row.IdempotencyKey,
		CreatedAt:      row.CreatedAt,
		UpdatedAt:      row.UpdatedAt,
		SentAt:         row.SentAt,
	}
	if row.ResentFrom.Valid {
		id := row.ResentFrom.UUID.String()
		m.ResentFrom = &id
	}
	if len(row.LastError) > 0 {
		var e outbox.DeliveryError
		if err := json.Unmarshal(row.LastError, &e); err != nil {
			return nil, fmt.Errorf("decoding last error of message %s: %w", row.ID, err)
		}
		m.LastError = deliveryErrorModel(&e)
	}
	return m, nil
}

// messageModels maps rows with messageModel, in order.
func messageModels(rows []dbsqlc.Message) ([]model.Message, error) {
	out := make([]model.Message, len(rows))
	for i, row := range rows {
		m, err := messageModel(row)
		if err != nil {
			return nil, err
		}
		out[i] = *m
	}
	return out, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
