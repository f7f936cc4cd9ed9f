package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/outbox"
)

// SendNotification queues one notification.
func (r *mutationResolver) SendNotification(ctx context.Context, input model.SendNotificationInput) (*model.Message, error) {
	msg, err := r.Delivery.Send(ctx, sendInput(input))
	return storedMessageModel(msg, err)
}

// SendNotifications queues up to 1,000 notifications in one transaction.
func (r *mutationResolver) SendNotifications(ctx context.Context, inputs []model.SendNotificationInput) ([]model.Message, error) {
	ins := make([]delivery.SendInput, len(inputs))
	for i, in := range inputs {
		ins[i] = sendInput(in)
	}
	msgs, err := r.Delivery.SendMany(ctx, ins)
	if err != nil {
		return nil, err
	}
	batchLoads(ctx, msgs)
	return messageModels(msgs), nil
}

func sendInput(in model.SendNotificationInput) delivery.SendInput {
	out := delivery.SendInput{
		To: in.To, Cc: in.Cc, Template: deref(in.Template),
		Subject: deref(in.Subject), Text: deref(in.Text), HTML: deref(in.HTML),
		Variables: in.Variables, IdempotencyKey: deref(in.IdempotencyKey), Sender: deref(in.Sender),
		Metadata: in.Metadata, Tags: in.Tags, Headers: in.Headers, SendAt: in.SendAt,
	}
	for _, a := range in.Attachments {
		out.Attachments = append(out.Attachments, delivery.AttachmentInput{
			Filename: a.Filename, ContentType: a.ContentType, ContentBase64: a.ContentBase64,
		})
	}
	return out
}

// CancelMessage cancels a message not yet sent.
func (r *mutationResolver) CancelMessage(ctx context.Context, id string) (*model.Message, error) {
	msgID, err := parseID(id, "message")
	if err != nil {
		return nil, err
	}
	msg, err := r.Delivery.Cancel(ctx, msgID)
	return storedMessageModel(msg, err)
}

// ResendMessage sends a message again as a new, linked message.
func (r *mutationResolver) ResendMessage(ctx context.Context, id string) (*model.Message, error) {
	msgID, err := parseID(id, "message")
	if err != nil {
		return nil, err
	}
	msg, err := r.Delivery.Resend(ctx, msgID)
	return storedMessageModel(msg, err)
}

// Suppressions lists the tenant's suppressed addresses.
func (r *queryResolver) Suppressions(ctx context.Context, first *int, after *string) (*model.SuppressionConnection, error) {
	page, err := r.Delivery.Suppressions(ctx, deref(first), deref(after))
	if err != nil {
		return nil, err
	}
	conn := &model.SuppressionConnection{Edges: make([]model.SuppressionEdge, len(page.Items)), PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i, s := range page.Items {
		conn.Edges[i] = model.SuppressionEdge{Cursor: s.Cursor, Node: suppressionModel(s)}
	}
	if n := len(page.Items); n > 0 {
		conn.PageInfo.EndCursor = &page.Items[n-1].Cursor
	}
	return conn, nil
}

// RemoveSuppression lets mail to email go out again.
func (r *mutationResolver) RemoveSuppression(ctx context.Context, email string) (bool, error) {
	return r.Delivery.RemoveSuppression(ctx, email)
}

// AddSuppression stops mail to email for reason (default MANUAL).
func (r *mutationResolver) AddSuppression(ctx context.Context, email string, reason *outbox.SuppressionReason) (*model.Suppression, error) {
	s, err := r.Delivery.AddSuppression(ctx, email, deref(reason))
	if err != nil {
		return nil, err
	}
	return suppressionModel(s), nil
}

func suppressionModel(s delivery.Suppression) *model.Suppression {
	return &model.Suppression{Email: s.Email, Reason: s.Reason, Scope: s.Scope, Detail: optional(s.Detail), CreatedAt: s.CreatedAt}
}
