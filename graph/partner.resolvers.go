package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
)

// PartnerClients lists the tenant's partner clients.
func (r *queryResolver) PartnerClients(ctx context.Context) ([]model.PartnerClient, error) {
	return nil, errUnbuilt
}

// RegisterPartnerClient registers a partner with its public keys.
func (r *mutationResolver) RegisterPartnerClient(ctx context.Context, input model.PartnerClientInput) (*model.PartnerClient, error) {
	return nil, errUnbuilt
}

// AddPartnerKey adds a key to a partner client.
func (r *mutationResolver) AddPartnerKey(ctx context.Context, clientID string, key model.PartnerKeyInput) (*model.PartnerClient, error) {
	return nil, errUnbuilt
}

// RemovePartnerKey removes a key from a partner client.
func (r *mutationResolver) RemovePartnerKey(ctx context.Context, clientID string, kid string) (*model.PartnerClient, error) {
	return nil, errUnbuilt
}

// RevokePartnerClient revokes a partner client at once.
func (r *mutationResolver) RevokePartnerClient(ctx context.Context, id string) (*model.PartnerClient, error) {
	return nil, errUnbuilt
}

// AuditLog lists who changed what, newest first.
func (r *queryResolver) AuditLog(ctx context.Context, first *int, after *string) (*model.AuditEntryConnection, error) {
	return nil, errUnbuilt
}
