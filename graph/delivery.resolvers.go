package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
)

// SendNotification queues one notification.
func (r *mutationResolver) SendNotification(ctx context.Context, input model.SendNotificationInput) (*model.Message, error) {
	return nil, errUnbuilt
}

// SendNotifications queues up to 1,000 notifications in one transaction.
func (r *mutationResolver) SendNotifications(ctx context.Context, inputs []model.SendNotificationInput) ([]model.Message, error) {
	return nil, errUnbuilt
}

// CancelMessage cancels a message not yet sent.
func (r *mutationResolver) CancelMessage(ctx context.Context, id string) (*model.Message, error) {
	return nil, errUnbuilt
}

// ResendMessage sends a message again as a new, linked message.
func (r *mutationResolver) ResendMessage(ctx context.Context, id string) (*model.Message, error) {
	return nil, errUnbuilt
}

// Suppressions lists the tenant's suppressed addresses.
func (r *queryResolver) Suppressions(ctx context.Context, first *int, after *string) (*model.SuppressionConnection, error) {
	return nil, errUnbuilt
}

// RemoveSuppression lets mail to email go out again.
func (r *mutationResolver) RemoveSuppression(ctx context.Context, email string) (bool, error) {
	return false, errUnbuilt
}
