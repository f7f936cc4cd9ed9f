package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/verify"
)

// SenderVerifications lists the tenant's branded sender addresses.
func (r *queryResolver) SenderVerifications(ctx context.Context, key *string) ([]model.SenderVerification, error) {
	list, err := r.Verify.List(ctx, deref(key))
	if err != nil {
		return nil, err
	}
	out := make([]model.SenderVerification, len(list))
	for i, v := range list {
		out[i] = *senderVerificationModel(v)
	}
	return out, nil
}

// RequestSenderVerification sends a verification link to email.
func (r *mutationResolver) RequestSenderVerification(ctx context.Context, email string, key *string) (*model.SenderVerification, error) {
	v, err := r.Verify.Request(ctx, deref(key), email)
	if err != nil {
		return nil, err
	}
	return senderVerificationModel(v), nil
}

// ResendSenderVerification sends a fresh link.
func (r *mutationResolver) ResendSenderVerification(ctx context.Context, id string) (*model.SenderVerification, error) {
	uid, err := parseID(id, "sender verification")
	if err != nil {
		return nil, err
	}
	v, err := r.Verify.Resend(ctx, uid)
	if err != nil {
		return nil, err
	}
	return senderVerificationModel(v), nil
}

// VerifySender verifies an address with the token of its link.
func (r *mutationResolver) VerifySender(ctx context.Context, token string) (*model.SenderVerification, error) {
	v, err := r.Verify.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	return senderVerificationModel(v), nil
}

func senderVerificationModel(v verify.Verification) *model.SenderVerification {
	return &model.SenderVerification{
		ID:                v.ID.String(),
		Sender:            v.Sender,
		Email:             v.Email,
		Status:            v.Status,
		ExpiresAt:         v.ExpiresAt,
		VerifiedAt:        v.VerifiedAt,
		ResendAvailableAt: v.ResendAvailableAt,
	}
}
