package delivery

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/outbox/outbox/internal/domains"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/transport"
)

// Domains is what delivery needs of sending domains (domains.Service).
type Domains interface {
	// Signer returns the signer of the tenant's VERIFIED domain, or nil.
	Signer(ctx context.Context, tenantID uuid.UUID, domain string) (*domains.Signer, error)
}

// authenticate makes m, the platform relay's mail under settings a, pass
// DMARC at the receiver: BRANDED mail from a VERIFIED sending domain is
// signed with that domain's key; other BRANDED mail is sent From the
// platform address, with the tenant's name and Reply-To its address (the
// rewrite receivers would force by rejecting it), unless
// Options.SendUnauthenticated; PLATFORM mail is signed with the platform's
// key when there is one. It fails when the domain cannot be looked up.
func (s *Service) authenticate(ctx context.Context, tenant outbox.Tenant, a sender.Active, m *transport.Message) error {
	switch {
	case a.Mode == outbox.ModePlatform:
		m.Signer = s.opts.PlatformSigner
	case a.Mode == outbox.ModeBranded && s.deps.Domains != nil:
		signer, err := s.deps.Domains.Signer(ctx, tenant.ID, domainOf(m.FromEmail, ""))
		if err != nil {
			return fmt.Errorf("loading the sending domain: %w", err)
		}
		if signer != nil {
			m.Signer = signer
			return nil
		}
		if s.opts.SendUnauthenticated {
			return nil
		}
		if m.ReplyTo == "" {
			m.ReplyTo = m.FromEmail
		}
		m.FromName = s.deps.Senders.PlatformDisplayName(tenant, a.OwnFromName)
		m.FromEmail = s.deps.Senders.Platform().From
		m.Signer = s.opts.PlatformSigner
	}
	return nil
}
