package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// envelope is the body of every delivery: the Standard Webhooks shape.
type envelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// body encodes the delivery body of an event of typ that happened at at.
func body(typ string, at time.Time, data any) ([]byte, error) {
	b, err := json.Marshal(envelope{Type: typ, Timestamp: at.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("encoding a %s event: %w", typ, err)
	}
	return b, nil
}

// MessageData is the data of a message event: the message as loaded, with
// the status the event reports, when it was reached (statusAt, so that a
// receiver can order events that arrive out of order) and the last attempt
// made up to then. Every message event's payload is built here.
type MessageData struct {
	ID             string                `json:"id"`
	Kind           string                `json:"kind"`
	Sender         string                `json:"sender"`
	Status         string                `json:"status"`
	StatusAt       time.Time             `json:"statusAt"`
	Detail         string                `json:"detail,omitempty"`
	From           string                `json:"from"`
	To             []string              `json:"to"`
	Cc             []string              `json:"cc,omitempty"`
	Subject        string                `json:"subject"`
	Template       *string               `json:"template"`
	IdempotencyKey *string               `json:"idempotencyKey"`
	Metadata       map[string]any        `json:"metadata"`
	Tags           []string              `json:"tags"`
	SendAt         *time.Time            `json:"sendAt"`
	AttemptCount   int                   `json:"attemptCount"`
	LastAttempt    *AttemptData          `json:"lastAttempt"`
	LastError      *outbox.DeliveryError `json:"lastError"`
	CreatedAt      time.Time             `json:"createdAt"`
}

// AttemptData is a delivery attempt in a message event.
type AttemptData struct {
	At           time.Time `json:"at"`
	Server       string    `json:"server,omitempty"`
	Code         int       `json:"code,omitempty"`
	EnhancedCode string    `json:"enhancedCode,omitempty"`
	Reply        string    `json:"reply,omitempty"`
	Category     string    `json:"category,omitempty"`
}

// messageData builds the data of the event that moved m to status at at
// with detail; attempts are m's, oldest first, of which the last one made
// by then is reported.
func messageData(m outbox.Message, attempts []outbox.Attempt, status string, at time.Time, detail string) MessageData {
	d := MessageData{
		ID: m.ID.String(), Kind: string(m.Kind), Sender: m.Sender, Status: status, StatusAt: at.UTC(), Detail: detail,
		From: m.From, To: m.To, Cc: m.Cc, Subject: m.Subject, Template: optional(m.Template),
		IdempotencyKey: optional(m.IdempotencyKey), AttemptCount: m.AttemptCount, CreatedAt: m.CreatedAt.UTC(),
		Metadata: m.Metadata, Tags: m.Tags,
	}
	if d.To == nil {
		d.To = []string{}
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if m.SendAt != nil {
		at := m.SendAt.UTC()
		d.SendAt = &at
	}
	for i := len(attempts) - 1; i >= 0; i-- {
		if a := attempts[i]; !a.At.After(at) {
			d.LastAttempt = &AttemptData{At: a.At.UTC(), Server: a.Server, Code: a.Code, EnhancedCode: a.EnhancedCode, Reply: a.Reply, Category: string(a.Category)}
			break
		}
	}
	if status != string(outbox.StatusSent) {
		d.LastError = m.LastError
	}
	return d
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
