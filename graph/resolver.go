package graph

import (
	"log/slog"

	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/delivery"
	"github.com/outbox/outbox/internal/domains"
	"github.com/outbox/outbox/internal/logs"
	"github.com/outbox/outbox/internal/oauth"
	"github.com/outbox/outbox/internal/operator"
	"github.com/outbox/outbox/internal/partner"
	"github.com/outbox/outbox/internal/reputation"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/templates"
	"github.com/outbox/outbox/internal/verify"
	"github.com/outbox/outbox/internal/webhook"
)

// Resolver holds the dependencies of the resolvers and nothing else.
type Resolver struct {
	Sender *sender.Service
	Verify *verify.Service
	// Partners registers and revokes partner clients.
	Partners *partner.Registry
	// Audit reads the audit log.
	Audit *audit.Log
	// Logs is the email log and its live feeds.
	Logs *logs.Service
	// Templates lists, saves and previews notification templates.
	Templates *templates.Service
	// Delivery sends, cancels and resends notifications and keeps the
	// suppression list.
	Delivery *delivery.Service
	// Operator carries out the platform operators' operations.
	// Domains manages sending domains.
	Domains  *domains.Service
	Operator *operator.Service
	// OAuth connects senders to Google and Microsoft 365 mailboxes.
	OAuth *oauth.Service
	// Reputation reads the tenants' reputation on the platform relay.
	Reputation *reputation.Service
	// Webhooks manages webhook endpoints and their deliveries.
	Webhooks *webhook.Service
	Logger   *slog.Logger
}

// Query returns the resolver of the Query type.
func (r *Resolver) Query() QueryResolver { return &queryResolver{r} }

// Mutation returns the resolver of the Mutation type.
func (r *Resolver) Mutation() MutationResolver { return &mutationResolver{r} }

// Subscription returns the resolver of the Subscription type.
func (r *Resolver) Subscription() SubscriptionResolver { return &subscriptionResolver{r} }

// Message returns the resolver of the Message type's lazy fields.
func (r *Resolver) Message() MessageResolver { return &messageResolver{r} }

type queryResolver struct{ *Resolver }

type mutationResolver struct{ *Resolver }

type subscriptionResolver struct{ *Resolver }

type messageResolver struct{ *Resolver }
