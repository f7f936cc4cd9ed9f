package domains

import (
	"context"
	"fmt"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// txtLookup is what a check needs of DNS (Resolver.TXT).
type txtLookup interface {
	TXT(ctx context.Context, name string) ([][]string, error)
}

// Records are the settings the records to publish are made from.
type Records struct {
	// SPFInclude is the domain SPF records include (OUTBOX_PLATFORM_SPF_INCLUDE).
	SPFInclude string
}

// dkimName is the DKIM record's name of selector at domain.
func dkimName(selector, domain string) string { return selector + "._domainkey." + domain }

// dmarcName is the DMARC record's name of domain.
func dmarcName(domain string) string { return "_dmarc." + domain }

// spfValue is the SPF record Outbox asks for.
func (c Records) spfValue() string { return "v=spf1 include:" + c.SPFInclude + " ~all" }

// dmarcValue is the DMARC record to start with: monitoring only, reports to
// the domain's own dmarc-reports mailbox.
func dmarcValue(domain string) string {
	return "v=DMARC1; p=none; rua=mailto:dmarc-reports@" + domain
}

// wanted returns the records to publish for d, all PENDING: the DKIM record
// of the signing key, that of a rotation's pending key, SPF and DMARC.
// There is no Return-Path record: the platform relay's bounce address is
// the platform's own.
func (c Records) wanted(domain, selector, p, pendingSelector, pendingP string) []outbox.DNSRecord {
	out := []outbox.DNSRecord{{
		Purpose: outbox.PurposeDKIM, Type: "TXT", Name: dkimName(selector, domain), Value: dkimValue(p),
		Status: outbox.RecordPending, Found: []string{},
	}}
	if pendingSelector != "" {
		out = append(out, outbox.DNSRecord{
			Purpose: outbox.PurposeDKIM, Type: "TXT", Name: dkimName(pendingSelector, domain), Value: dkimValue(pendingP),
			Status: outbox.RecordPending, Found: []string{}, Pending: true,
			Hint: "the new key of a rotation: publish it next to the current one; Outbox switches to it once a check sees it",
		})
	}
	if c.SPFInclude != "" {
		out = append(out, outbox.DNSRecord{
			Purpose: outbox.PurposeSPF, Type: "TXT", Name: domain, Value: c.spfValue(), Status: outbox.RecordPending, Found: []string{},
		})
	}
	out = append(out, outbox.DNSRecord{
		Purpose: outbox.PurposeDMARC, Type: "TXT", Name: dmarcName(domain), Value: dmarcValue(domain), Status: outbox.RecordPending, Found: []string{},
	})
	return out
}

// check looks every record of want up in DNS and returns them with what was
// found, a status and a hint each. It fails only when DNS does not answer.
func (c Records) check(ctx context.Context, dns txtLookup, domain string, want []outbox.DNSRecord) ([]outbox.DNSRecord, error) {
	out := make([]outbox.DNSRecord, len(want))
	for i, r := range want {
		r.Found, r.Hint = []string{}, ""
		txt, err := dns.TXT(ctx, r.Name)
		if err != nil {
			return nil, err
		}
		switch r.Purpose {
		case outbox.PurposeDKIM:
			if err := checkDKIM(ctx, dns, domain, &r, txt); err != nil {
				return nil, err
			}
		case outbox.PurposeSPF:
			c.checkSPF(&r, txt)
		case outbox.PurposeDMARC:
			checkDMARC(&r, txt)
		}
		out[i] = r
	}
	return out, nil
}

// checkDKIM sets r's status from the TXT records at its name. A value a DNS
// host split into several strings is joined, as receivers join it.
func checkDKIM(ctx context.Context, dns txtLookup, domain string, r *outbox.DNSRecord, txt [][]string) error {
	wantP := tag(r.Value, "p")
	var split bool
	for _, strs := range txt {
		joined := strings.Join(strs, "")
		if !strings.HasPrefix(strings.TrimSpace(joined), "v=DKIM1") && tag(joined, "p") == "" {
			continue
		}
		r.Found = append(r.Found, joined)
		split = split || len(strs) > 1
	}
	switch {
	case len(r.Found) == 0:
		r.Status = outbox.RecordMissing
		// A DNS host that appends the domain to every name turns the full
		// name into <name>.<domain>.
		doubled := r.Name + "." + domain
		again, err := dns.TXT(ctx, doubled)
		if err != nil {
			return err
		}
		if len(again) > 0 {
			r.Hint = fmt.Sprintf("the record was published at %s: your DNS host adds %s to names itself, so enter only %s as the name",
				doubled, domain, strings.TrimSuffix(r.Name, "."+domain))
		} else {
			r.Hint = fmt.Sprintf("no DKIM record at %s yet: publish a TXT record with that name and the value shown (DNS changes can take up to an hour to show)", r.Name)
		}
	case len(r.Found) > 1:
		r.Status = outbox.RecordMismatch
		r.Hint = fmt.Sprintf("%d DKIM records at %s: keep only the one with the value shown", len(r.Found), r.Name)
	default:
		got := tag(r.Found[0], "p")
		switch {
		case got == wantP && split:
			r.Status = outbox.RecordVerified
			r.Hint = "your DNS host split the value into several strings; joined they match, which is fine"
		case got == wantP:
			r.Status = outbox.RecordVerified
		case strings.Map(dropQuotesAndSpace, got) == wantP:
			r.Status = outbox.RecordMismatch
			r.Hint = "the DKIM value was split by your DNS host, which left quotes or spaces inside the key: paste it as one string"
		case got == "":
			r.Status = outbox.RecordMismatch
			r.Hint = "the record has no p= key: copy the whole value shown"
		case strings.HasPrefix(wantP, got):
			r.Status = outbox.RecordMismatch
			r.Hint = "the p= key is cut short: your DNS host may limit the length; paste the whole value as one string"
		default:
			r.Status = outbox.RecordMismatch
			r.Hint = "the p= key differs from the one shown (an old key, or a copy error): replace the value with the one shown"
		}
	}
	return nil
}

// checkSPF sets r's status from the TXT records at the domain.
func (c Records) checkSPF(r *outbox.DNSRecord, txt [][]string) {
	for _, strs := range txt {
		if v := strings.Join(strs, ""); isSPF(v) {
			r.Found = append(r.Found, v)
		}
	}
	include := "include:" + c.SPFInclude
	switch {
	case len(r.Found) == 0:
		r.Status = outbox.RecordMissing
		r.Hint = "no SPF record: publish a TXT record on " + r.Name + " with the value shown"
	case len(r.Found) > 1:
		r.Status = outbox.RecordMismatch
		r.Hint = "two SPF records: merge them into one (receivers treat two as an error), with " + include + " in it"
	case hasTerm(r.Found[0], include):
		r.Status = outbox.RecordVerified
	default:
		r.Status = outbox.RecordMismatch
		r.Hint = "your SPF record lacks " + include + ": add it to the existing record rather than publishing a second one, e.g. " + mergeSPF(r.Found[0], include)
	}
}

// checkDMARC sets r's status from the TXT records at _dmarc.<domain>.
func checkDMARC(r *outbox.DNSRecord, txt [][]string) {
	for _, strs := range txt {
		if v := strings.Join(strs, ""); strings.HasPrefix(strings.TrimSpace(v), "v=DMARC1") {
			r.Found = append(r.Found, v)
		}
	}
	switch len(r.Found) {
	case 0:
		r.Status = outbox.RecordMissing
		r.Hint = "no DMARC record: publish the value shown to start with (p=none only collects reports)"
	case 1:
		r.Status = outbox.RecordVerified
	default:
		r.Status = outbox.RecordMismatch
		r.Hint = "two DMARC records: receivers ignore both; keep one"
	}
}

func isSPF(v string) bool {
	v = strings.ToLower(strings.TrimSpace(v))
	return v == "v=spf1" || strings.HasPrefix(v, "v=spf1 ")
}

func hasTerm(spf, term string) bool {
	for _, f := range strings.Fields(spf) {
		if strings.EqualFold(strings.TrimLeft(f, "+"), term) {
			return true
		}
	}
	return false
}

// mergeSPF puts include into spf before its all term (or at the end).
func mergeSPF(spf, include string) string {
	fields := strings.Fields(spf)
	for i, f := range fields {
		if strings.HasSuffix(strings.ToLower(f), "all") && len(f) <= 4 {
			return strings.Join(append(fields[:i:i], append([]string{include}, fields[i:]...)...), " ")
		}
	}
	return strings.Join(append(fields, include), " ")
}

// tag returns the value of tag name in a "k=v; k=v" record, without
// surrounding space, or "".
func tag(record, name string) string {
	for _, part := range strings.Split(record, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func dropQuotesAndSpace(r rune) rune {
	switch r {
	case '"', ' ', '\t', '\\':
		return -1
	}
	return r
}

// DMARCPolicy returns the p= of domain's DMARC record ("none",
// "quarantine", "reject"), or "" when it publishes none (or more than one,
// which receivers ignore). It fails when DNS does not answer.
func DMARCPolicy(ctx context.Context, dns txtLookup, domain string) (string, error) {
	txt, err := dns.TXT(ctx, dmarcName(domain))
	if err != nil {
		return "", err
	}
	var r outbox.DNSRecord
	checkDMARC(&r, txt)
	if len(r.Found) != 1 {
		return "", nil
	}
	return strings.ToLower(tag(r.Found[0], "p")), nil
}
