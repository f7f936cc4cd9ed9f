package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/net/idna"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/ratelimit"
	"github.com/outbox/outbox/internal/relay"
	"github.com/outbox/outbox/internal/sender"
	"github.com/outbox/outbox/internal/transport"
)

// route is how one tenant's mail leaves: the sending account (its key in
// the connection pool and the limiter), the account's limits, and the send.
type route struct {
	account string
	limits  ratelimit.Limits
	// share, when set, is the tenant's share of a shared account's
	// limits, reserved together with them.
	share *ratelimit.Account
	// own is set for the tenant's own SMTP server or HTTP API, whose auth
	// failures are the tenant's to fix; it is false for the platform relay.
	own bool
	// oauth is set when the tenant's server is logged in to with an OAuth
	// connection: an auth failure asks to reconnect.
	oauth bool
	send  func(ctx context.Context, msg transport.Message) (transport.Attempt, error)
}

// route returns the way out of a tenant with settings a: the platform relay
// for PLATFORM and BRANDED, else the tenant's own SMTP server (through the
// pool, so connections are reused) or HTTP API.
func (s *Service) route(tenant outbox.Tenant, a sender.Active) route {
	switch {
	case a.Mode == outbox.ModeSMTP && a.SMTP != nil:
		c := a.SMTP
		key := SMTPAccountKey(c)
		cfg := transport.SMTPConfig{
			Host: c.Host, Port: c.Port, Security: c.Security, Auth: c.Auth, Username: c.Username, Password: c.Password,
			SkipTLSVerify: c.SkipTLSVerify, RootCAs: s.opts.RootCAs, HeloName: domainOf(a.FromEmail, ""), Timeout: s.opts.SMTPTimeout,
			AddrPolicy: s.opts.AddrPolicy,
		}
		if c.OAuthConnection != "" {
			return route{account: key, limits: accountLimits(a.Limits), own: true, oauth: true,
				send: func(ctx context.Context, msg transport.Message) (transport.Attempt, error) {
					return s.sendOAuth(ctx, tenant, c, key, cfg, msg)
				}}
		}
		return route{account: key, limits: accountLimits(a.Limits), own: true,
			send: func(ctx context.Context, msg transport.Message) (transport.Attempt, error) {
				return s.pool.Send(ctx, key, cfg, msg)
			}}
	case a.Mode == outbox.ModeHTTP && a.HTTP != nil:
		cfg := sender.HTTPConfig(a.HTTP)
		cfg.Timeout, cfg.Client, cfg.AddrPolicy = s.opts.SMTPTimeout, s.http, s.opts.AddrPolicy
		return route{account: HTTPAccountKey(a.HTTP), limits: accountLimits(a.Limits), own: true,
			send: func(ctx context.Context, msg transport.Message) (transport.Attempt, error) {
				return transport.SendHTTP(ctx, cfg, msg)
			}}
	default:
		r := route{account: relay.AccountKey, limits: s.opts.RelayLimits, send: s.deps.Relay.Send}
		if s.opts.RelayTenantShare < 1 && r.limits != (ratelimit.Limits{}) {
			r.share = &ratelimit.Account{Key: RelayTenantAccountKey(tenant.ID), Limits: r.limits.Share(s.opts.RelayTenantShare)}
		}
		return r
	}
}

// sendOAuth sends through the pool logged in with an access token of c's
// OAuth connection (cached, refreshed before it expires). A token the
// server refuses is dropped, so the next attempt fetches a new one; a
// grant the provider refuses fails at AUTH with AUTH_FAILED. Connections
// made with an older token are not reused (the pool compares configs).
func (s *Service) sendOAuth(ctx context.Context, tenant outbox.Tenant, c *sender.SMTP, key string, cfg transport.SMTPConfig, msg transport.Message) (transport.Attempt, error) {
	token, email, err := s.deps.Senders.AccessToken(ctx, tenant, c)
	if err != nil {
		return transport.Attempt{Server: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}, err
	}
	cfg.Username, cfg.Password = email, token
	att, err := s.pool.Send(ctx, key, cfg, msg)
	if f := transport.Classify("", err); f != nil && f.Category == outbox.CategoryAuthFailed {
		sender.RefusedToken(f)
		s.deps.Senders.ForgetAccessToken(c)
		err = f
	}
	return att, err
}

// RelayTenantAccountKey is the limiter's account of one tenant's share of
// the platform relay: "platform:tenant:<id>".
func RelayTenantAccountKey(tenantID uuid.UUID) string {
	return relay.AccountKey + ":tenant:" + tenantID.String()
}

// SMTPAccountKey is the sending account of a tenant's own SMTP server, as
// the limiter and the connection pool know it: "smtp:host:port:username"
// (host lower-cased). Tenants sharing one login share its limits, as the
// provider counts them. It never contains the password.
func SMTPAccountKey(c *sender.SMTP) string {
	return "smtp:" + strings.ToLower(c.Host) + ":" + strconv.Itoa(c.Port) + ":" + c.Username
}

// HTTPAccountKey is the sending account of a tenant's HTTP mail API:
// "http:" and the URL without user info, query or fragment (where API keys
// sometimes hide). For a provider's API it is "http:<provider>:" and the
// base URL's host, the Mailgun domain or the SES region and access key id,
// and a digest of the API key, so that tenants with keys of their own do
// not share limits or throttling pauses while one key used twice does. The
// auth header value itself is never part of it.
func HTTPAccountKey(c *sender.HTTPAPI) string {
	if !c.IsGeneric() {
		u, _ := url.Parse(c.EffectiveURL())
		host := ""
		if u != nil {
			host = strings.ToLower(u.Host)
		}
		sum := sha256.Sum256([]byte("outbox account key\x00" + c.AuthValue))
		return "http:" + strings.ToLower(string(c.Provider)) + ":" + host + ":" + c.Domain + c.Region + c.AccessKeyID + ":" + hex.EncodeToString(sum[:8])
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "http:invalid"
	}
	return "http:" + strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.EscapedPath()
}

// accountLimits are the limits the limiter enforces, from the tenant's
// effective ones (the preset's, or the tenant's lower values:
// sender.EffectiveLimits, applied by the settings view).
func accountLimits(l sender.Limits) ratelimit.Limits {
	return ratelimit.Limits{
		PerSecond: l.PerSecond, PerMinute: l.PerMinute, PerHour: l.PerHour, PerDay: l.PerDay,
		RecipientsPerDay: l.RecipientsPerDay,
	}
}

// envelope are a message's recipients with the suppressed ones left out.
type envelope struct {
	to, cc, bcc []string
	// dropped are the suppressed recipients left out.
	dropped []string
}

func (e envelope) count() int { return len(e.to) + len(e.cc) + len(e.bcc) }

// recipientsOf returns the recipients of msg under settings a: its To and
// Cc, and as blind copies the settings' BCC list and archive address, each
// without the addresses suppressed (lower-cased).
func recipientsOf(msg outbox.Message, a sender.Active, suppressed []string) envelope {
	var e envelope
	keep := func(list []string) []string {
		var out []string
		for _, addr := range list {
			if addr == "" {
				continue
			}
			if slices.Contains(suppressed, strings.ToLower(addr)) {
				e.dropped = append(e.dropped, addr)
				continue
			}
			out = append(out, addr)
		}
		return out
	}
	e.to, e.cc = keep(msg.To), keep(msg.Cc)
	bcc := slices.Clone(a.BCC)
	if a.ArchiveCopyTo != "" {
		bcc = append(bcc, a.ArchiveCopyTo)
	}
	e.bcc = keep(bcc)
	return e
}

// buildMessage is the mail of msg under settings a. From follows the mode:
// PLATFORM sends from the platform's address as "<tenant> via <platform>"
// with replies going to the tenant (reply-to, else contact address);
// BRANDED, SMTP and HTTP send from the tenant's own address and name. The
// Message-ID is the message's id, the same on every attempt, so that a
// retry is recognisable as the same mail.
func buildMessage(msg outbox.Message, p payload, a sender.Active, env envelope) transport.Message {
	m := transport.Message{
		FromName:  a.FromName,
		FromEmail: a.FromEmail,
		ReplyTo:   a.ReplyTo,
		To:        env.to,
		Cc:        env.cc,
		Bcc:       env.bcc,
		Subject:   msg.Subject,
		Text:      p.Text,
		HTML:      p.HTML,
		MessageID: msg.ID.String() + "@" + domainOf(a.FromEmail, "outbox.invalid"),
	}
	if a.Mode == outbox.ModePlatform && m.ReplyTo == "" {
		m.ReplyTo = a.ContactEmail
	}
	for _, att := range p.Attachments {
		m.Attachments = append(m.Attachments, transport.Attachment{Filename: att.Filename, ContentType: att.ContentType, Data: att.Data})
	}
	return m
}

// domainOf returns the domain of addr in ASCII form, or fallback.
func domainOf(addr, fallback string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return fallback
	}
	d, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil || d == "" {
		return fallback
	}
	return d
}

// listHeaders returns the List-Unsubscribe header fields of msg: those of
// its one recipient for SUBSCRIPTION mail (Send allows it no other), none
// for TRANSACTIONAL mail or without an Unsubscriber.
func (s *Service) listHeaders(tenant outbox.Tenant, msg outbox.Message) (map[string]string, error) {
	if msg.Category != outbox.CategorySubscription || s.deps.Unsubscribe == nil || len(msg.To) == 0 {
		return nil, nil
	}
	return s.deps.Unsubscribe.Headers(tenant.ID, msg.To[0])
}
