package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
)

// SenderVerifications lists the tenant's branded sender addresses.
func (r *queryResolver) SenderVerifications(ctx context.Context) ([]model.SenderVerification, error) {
	return nil, errUnbuilt
}

// RequestSenderVerification sends a verification link to email.
func (r *mutationResolver) RequestSenderVerification(ctx context.Context, email string) (*model.SenderVerification, error) {
	return nil, errUnbuilt
}

// ResendSenderVerification sends a fresh link.
func (r *mutationResolver) ResendSenderVerification(ctx context.Context, id string) (*model.SenderVerification, error) {
	return nil, errUnbuilt
}

// VerifySender verifies an address with the token of its link.
func (r *mutationResolver) VerifySender(ctx context.Context, token string) (*model.SenderVerification, error) {
	return nil, errUnbuilt
}
