package domains

import (
	"context"
	"fmt"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// Deliverability is what receivers that check DMARC will make of a
// sender's mail, worked out before anything is sent.
type Deliverability struct {
	// FromDomain is the domain of the sender's own From address.
	FromDomain string
	// Authenticated says the mail is DKIM-signed by FromDomain (BRANDED,
	// PLATFORM), or, for SMTP and HTTP, that FromDomain publishes an SPF
	// record or a DKIM key at a selector providers commonly use.
	Authenticated bool
	// DMARCPolicy is the p= of FromDomain's DMARC record, "" for none.
	DMARCPolicy string
	// Aligned says the authenticated domain is FromDomain.
	Aligned bool
	// EffectiveFrom is the From address mail goes out with.
	EffectiveFrom string
	// Warnings say what is missing and how to fix it.
	Warnings []string
}

// Deliverability returns what will happen to the caller's tenant's mail
// sent in mode from fromEmail (as the sender's settings show it). DNS that
// does not answer is a warning, not an error; it fails only when the
// database does.
func (s *Service) Deliverability(ctx context.Context, mode outbox.SenderMode, fromEmail string) (Deliverability, error) {
	tenant, err := outbox.RequireTenant(ctx)
	if err != nil {
		return Deliverability{}, err
	}
	d := Deliverability{FromDomain: domainPart(fromEmail), EffectiveFrom: fromEmail, Warnings: []string{}}
	policy := func() {
		p, err := s.DMARCPolicy(ctx, d.FromDomain)
		if err != nil {
			d.Warnings = append(d.Warnings, fmt.Sprintf("the DMARC record of %s could not be looked up: %v", d.FromDomain, err))
		}
		d.DMARCPolicy = p
	}
	switch mode {
	case outbox.ModePlatform:
		d.Authenticated, d.Aligned = s.cfg.PlatformSigned, s.cfg.PlatformSigned
		if !s.cfg.PlatformSigned {
			d.Warnings = append(d.Warnings, "platform mail is not DKIM-signed: the operator can set OUTBOX_PLATFORM_DKIM_KEY")
		}
	case outbox.ModeBranded:
		status, err := s.Status(ctx, tenant.ID, d.FromDomain)
		if err != nil {
			return Deliverability{}, err
		}
		policy()
		if status == outbox.DomainVerified {
			d.Authenticated, d.Aligned = true, true
			break
		}
		why := d.FromDomain + " is not a sending domain of this tenant: add it (addSendingDomain) and publish its records"
		switch status {
		case outbox.DomainPending:
			why = d.FromDomain + " is not verified yet: publish its DKIM record and check the domain"
		case outbox.DomainFailed:
			why = "the DKIM record of " + d.FromDomain + " is gone or changed: publish it again and check the domain"
		}
		if s.cfg.SendUnauthenticated {
			msg := why + "; until then mail goes out unsigned From " + fromEmail
			if d.DMARCPolicy == "reject" || d.DMARCPolicy == "quarantine" {
				msg += fmt.Sprintf(", and %s's DMARC policy (p=%s) tells receivers to refuse it", d.FromDomain, d.DMARCPolicy)
			}
			d.Warnings = append(d.Warnings, msg)
			break
		}
		d.EffectiveFrom = s.cfg.PlatformFrom
		d.Warnings = append(d.Warnings, why+"; until then mail goes out From "+s.cfg.PlatformFrom+" with Reply-To "+fromEmail)
	default:
		d.Warnings = append(d.Warnings, s.ownDomainWarnings(ctx, &d)...)
	}
	return d, nil
}

// ownDomainWarnings looks at the records of d.FromDomain, a domain whose
// mail the tenant's own server or API sends (OwnDomainSteps): it sets
// Authenticated and Aligned (an SPF record and a DKIM key found) and
// DMARCPolicy, and returns the warnings.
func (s *Service) ownDomainWarnings(ctx context.Context, d *Deliverability) []string {
	var out []string
	ok := map[string]bool{}
	for _, c := range s.ownDomainChecks(ctx, d.FromDomain) {
		ok[c.name] = c.ok
		if !c.ok {
			out = append(out, c.name+": "+c.detail)
		} else if c.name == StepDMARC {
			d.DMARCPolicy = strings.TrimPrefix(c.detail, "p=")
		}
	}
	d.Authenticated = ok[StepSPF] || ok[StepDKIM]
	d.Aligned = d.Authenticated
	return out
}

// domainPart is the lower-case domain of addr, or "".
func domainPart(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	d, err := NormalizeDomain(addr[at+1:])
	if err != nil {
		return strings.ToLower(addr[at+1:])
	}
	return d
}
