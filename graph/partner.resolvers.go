package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/outbox/outbox/graph/model"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/partner"
)

// PartnerClients lists the tenant's partner clients.
func (r *queryResolver) PartnerClients(ctx context.Context) ([]model.PartnerClient, error) {
	clients, err := r.Partners.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.PartnerClient, len(clients))
	for i, c := range clients {
		out[i] = *partnerClientModel(c)
	}
	return out, nil
}

// RegisterPartnerClient registers a partner with its public keys.
func (r *mutationResolver) RegisterPartnerClient(ctx context.Context, input model.PartnerClientInput) (*model.PartnerClient, error) {
	reg := partner.Registration{Name: input.Name, Scopes: input.Scopes, Keys: make([]partner.KeyInput, len(input.Keys))}
	for i, k := range input.Keys {
		in, err := partnerKeyInput(k, fmt.Sprintf("keys[%d]", i))
		if err != nil {
			return nil, err
		}
		reg.Keys[i] = in
	}
	c, err := r.Partners.Register(ctx, reg)
	if err != nil {
		return nil, err
	}
	return partnerClientModel(c), nil
}

// AddPartnerKey adds a key to a partner client (named by id or client id).
func (r *mutationResolver) AddPartnerKey(ctx context.Context, clientID string, key model.PartnerKeyInput) (*model.PartnerClient, error) {
	in, err := partnerKeyInput(key, "key")
	if err != nil {
		return nil, err
	}
	c, err := r.Partners.AddKey(ctx, clientID, in)
	if err != nil {
		return nil, err
	}
	return partnerClientModel(c), nil
}

// RemovePartnerKey removes a key from a partner client.
func (r *mutationResolver) RemovePartnerKey(ctx context.Context, clientID string, kid string) (*model.PartnerClient, error) {
	c, err := r.Partners.RemoveKey(ctx, clientID, kid)
	if err != nil {
		return nil, err
	}
	return partnerClientModel(c), nil
}

// RevokePartnerClient revokes a partner client at once.
func (r *mutationResolver) RevokePartnerClient(ctx context.Context, id string) (*model.PartnerClient, error) {
	c, err := r.Partners.Revoke(ctx, id)
	if err != nil {
		return nil, err
	}
	return partnerClientModel(c), nil
}

// AuditLog lists who changed what, newest first.
func (r *queryResolver) AuditLog(ctx context.Context, first *int, after *string) (*model.AuditEntryConnection, error) {
	var afterID int64
	if after != nil && *after != "" {
		id, err := parseAuditCursor(*after)
		if err != nil {
			return nil, err
		}
		afterID = id
	}
	if first != nil && *first < 1 {
		return nil, outbox.Invalid("first", "first must be at least 1")
	}
	page, err := r.Audit.List(ctx, deref(first), afterID)
	if err != nil {
		return nil, err
	}
	conn := &model.AuditEntryConnection{Edges: make([]model.AuditEntryEdge, len(page.Entries)), PageInfo: &model.PageInfo{HasNextPage: page.HasNext}}
	for i, e := range page.Entries {
		node, err := auditEntryModel(e)
		if err != nil {
			return nil, err
		}
		conn.Edges[i] = model.AuditEntryEdge{Cursor: auditCursor(e.ID), Node: node}
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}
	return conn, nil
}

// partnerKeyInput maps a key input; a JWK is passed on as JSON.
func partnerKeyInput(k model.PartnerKeyInput, field string) (partner.KeyInput, error) {
	in := partner.KeyInput{Kid: k.Kid, PEM: deref(k.Pem)}
	if k.Jwk != nil {
		b, err := json.Marshal(k.Jwk)
		if err != nil {
			return partner.KeyInput{}, outbox.Invalid(field+".jwk", "not a valid JWK")
		}
		in.JWK = b
	}
	return in, nil
}

func partnerClientModel(c partner.Client) *model.PartnerClient {
	m := &model.PartnerClient{
		ID: c.ID.String(), ClientID: c.ClientID, Name: c.Name, Scopes: make([]string, len(c.Scopes)),
		Keys: make([]model.PartnerKey, len(c.Keys)), CreatedAt: c.CreatedAt, RevokedAt: c.RevokedAt,
	}
	for i, s := range c.Scopes {
		m.Scopes[i] = string(s)
	}
	for i, k := range c.Keys {
		m.Keys[i] = model.PartnerKey{Kid: k.Kid, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt}
	}
	return m
}

func auditEntryModel(e audit.Entry) (*model.AuditEntry, error) {
	m := &model.AuditEntry{
		ID: strconv.FormatInt(e.ID, 10), ActorKind: e.ActorKind, Actor: e.Actor, Action: e.Action,
		Target: optional(e.Target), RequestID: optional(e.RequestID), CreatedAt: e.CreatedAt,
	}
	var err error
	if m.Before, err = jsonObject(e.Before); err != nil {
		return nil, err
	}
	if m.After, err = jsonObject(e.After); err != nil {
		return nil, err
	}
	return m, nil
}

// jsonObject decodes a recorded value for the JSON scalar, which holds an
// object; any other JSON value is wrapped as {"value": …}.
func jsonObject(data []byte) (map[string]any, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decoding audit value: %w", err)
	}
	if obj, ok := v.(map[string]any); ok {
		return obj, nil
	}
	return map[string]any{"value": v}, nil
}

const auditCursorPrefix = "audit:"

func auditCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(auditCursorPrefix + strconv.FormatInt(id, 10)))
}

func parseAuditCursor(s string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if digits, ok := strings.CutPrefix(string(raw), auditCursorPrefix); ok {
			if id, err := strconv.ParseInt(digits, 10, 64); err == nil && id > 0 {
				return id, nil
			}
		}
	}
	return 0, outbox.Invalid("after", "not a cursor of the audit log; pass pageInfo.endCursor")
}
