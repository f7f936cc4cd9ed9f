package domains

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/outbox/outbox/internal/transport"
)

// commonSelectors are the DKIM selectors mail providers commonly sign
// with: Google Workspace, Microsoft 365, SendGrid, Mailgun and Mailchimp,
// Postmark, Resend, and generic ones. A key at one of them says the
// provider is set up to sign; none found is only a warning, as a provider
// may use a selector of its own.
var commonSelectors = []string{"google", "selector1", "selector2", "s1", "s2", "k1", "mx", "pm", "resend", "default", "dkim", "mail"}

// The names of the steps a test send gains from OwnDomainSteps.
const (
	StepSPF   = "SPF"
	StepDKIM  = "DKIM"
	StepDMARC = "DMARC"
)

// OwnDomainSteps looks at the SPF, DKIM and DMARC records of the domain of
// fromEmail, an address the tenant's own SMTP server or HTTP API sends
// from, and returns one step for each, named StepSPF, StepDKIM and
// StepDMARC. They are warnings, never failures: every step is OK, and one
// whose record is missing or wrong has a Detail starting "warning: " with
// the fix. DNS that does not answer is such a warning too.
func (s *Service) OwnDomainSteps(ctx context.Context, fromEmail string) []transport.Step {
	checks := s.ownDomainChecks(ctx, domainPart(fromEmail))
	out := make([]transport.Step, len(checks))
	for i, c := range checks {
		out[i] = transport.Step{Name: c.name, OK: true, Duration: c.took, Detail: c.detail}
		if !c.ok {
			out[i].Detail = "warning: " + c.detail
		}
	}
	return out
}

// domainCheck is the outcome of one look at an own domain's records.
type domainCheck struct {
	name   string
	ok     bool
	detail string
	took   time.Duration
}

// ownDomainChecks looks at the SPF, DKIM and DMARC records of domain.
func (s *Service) ownDomainChecks(ctx context.Context, domain string) []domainCheck {
	if domain == "" {
		return nil
	}
	step := func(name string, start time.Time, ok bool, detail string) domainCheck {
		return domainCheck{name: name, ok: ok, detail: detail, took: time.Since(start)}
	}
	var out []domainCheck

	start := time.Now()
	var spf []string
	txt, err := s.dns.TXT(ctx, domain)
	for _, strs := range txt {
		if v := strings.Join(strs, ""); isSPF(v) {
			spf = append(spf, v)
		}
	}
	switch {
	case err != nil:
		out = append(out, step(StepSPF, start, false, fmt.Sprintf("the SPF record of %s could not be looked up: %v", domain, err)))
	case len(spf) == 0:
		out = append(out, step(StepSPF, start, false, domain+" has no SPF record: publish the one your mail provider documents (v=spf1 include:<provider> ~all) as a TXT record on "+domain))
	case len(spf) > 1:
		out = append(out, step(StepSPF, start, false, "two SPF records on "+domain+": merge them into one (receivers treat two as an error)"))
	default:
		out = append(out, step(StepSPF, start, true, spf[0]))
	}

	start = time.Now()
	found := ""
	for _, sel := range commonSelectors {
		recs, err := s.dns.TXT(ctx, dkimName(sel, domain))
		if err != nil {
			break
		}
		for _, strs := range recs {
			if tag(strings.Join(strs, ""), "p") != "" {
				found = dkimName(sel, domain)
			}
		}
		if found != "" {
			break
		}
	}
	if found != "" {
		out = append(out, step(StepDKIM, start, true, "a DKIM key is published at "+found))
	} else {
		out = append(out, step(StepDKIM, start, false, "no DKIM key at the selectors providers commonly use ("+strings.Join(commonSelectors[:4], ", ")+", …): turn on DKIM signing for "+domain+" at your mail provider and publish the record it shows"))
	}

	start = time.Now()
	p, err := s.DMARCPolicy(ctx, domain)
	switch {
	case err != nil:
		out = append(out, step(StepDMARC, start, false, fmt.Sprintf("the DMARC record of %s could not be looked up: %v", domain, err)))
	case p == "":
		out = append(out, step(StepDMARC, start, false, domain+" has no DMARC record: publish "+dmarcValue(domain)+" as a TXT record on "+dmarcName(domain)+" to start with"))
	default:
		out = append(out, step(StepDMARC, start, true, "p="+p))
	}
	return out
}
