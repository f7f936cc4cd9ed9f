package graph

import (
	"context"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/oauth"
	"github.com/outbox/outbox/internal/outbox"
)

// OauthConnections lists the tenant's OAuth connections.
func (r *queryResolver) OauthConnections(ctx context.Context) ([]model.OAuthConnection, error) {
	conns, err := r.OAuth.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.OAuthConnection, len(conns))
	for i, c := range conns {
		out[i] = *oauthConnectionModel(c)
	}
	return out, nil
}

// OauthConnection returns one OAuth connection, or null.
func (r *queryResolver) OauthConnection(ctx context.Context, id string) (*model.OAuthConnection, error) {
	connID, err := parseID(id, "OAuth connection")
	if err != nil {
		return nil, nil
	}
	c, err := r.OAuth.Get(ctx, connID)
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return oauthConnectionModel(c), nil
}

// StartOAuthConnection begins connecting a sender to a mailbox.
func (r *mutationResolver) StartOAuthConnection(ctx context.Context, provider outbox.OAuthProvider, sender *string) (*model.OAuthConnection, error) {
	c, err := r.OAuth.Start(ctx, provider, deref(sender))
	if err != nil {
		return nil, err
	}
	return oauthConnectionModel(c), nil
}

// DisconnectOAuth ends an OAuth connection.
func (r *mutationResolver) DisconnectOAuth(ctx context.Context, id string) (bool, error) {
	connID, err := parseID(id, "OAuth connection")
	if err != nil {
		return false, err
	}
	if err := r.OAuth.Disconnect(ctx, connID); err != nil {
		return false, err
	}
	return true, nil
}

func oauthConnectionModel(c oauth.Connection) *model.OAuthConnection {
	return &model.OAuthConnection{
		ID: c.ID.String(), Provider: c.Provider, Status: c.Status, AuthorizeURL: optional(c.AuthorizeURL),
		Email: optional(c.Email), Sender: c.Sender, Error: optional(c.Error),
		CreatedAt: c.CreatedAt, ConnectedAt: c.ConnectedAt, RevokedAt: c.RevokedAt,
	}
}
