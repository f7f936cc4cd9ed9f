// Package domains holds a tenant's sending domains: the DKIM key of each
// (RSA 2048, sealed with the keyring), the DNS records the tenant publishes
// (DKIM, SPF, DMARC) with what DNS returned and a hint where it is wrong, the
// checks that turn a domain VERIFIED (its DKIM record matches) or FAILED
// (a verified domain's record went away), key rotation without a gap, and
// the DKIM signer delivery uses for BRANDED mail from a VERIFIED domain.
//
// DNS queries go through miekg/dns to one server (OUTBOX_DNS_SERVER) or
// the system resolver, so that tests answer them from a server on loopback
// (internal/dnstest).
package domains
