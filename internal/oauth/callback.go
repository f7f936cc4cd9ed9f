package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/audit"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/mailaddr"
	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/secret"
)

// Callback is what a provider sends the browser back with.
type Callback struct {
	State, Code string
	// Error and ErrorDescription are the provider's refusal
	// (access_denied when the user declined), if any.
	Error, ErrorDescription string
}

// Connected is what the callback page shows after a connection succeeded.
type Connected struct {
	ID         string
	Provider   string
	TenantName string
	Sender     string
	Email      string
}

// Complete finishes an authorization when the provider sends the browser
// back: it uses up the state (once; a second use and a state that is not
// known fail), exchanges the code with the PKCE verifier, verifies the ID
// token (signature by the provider's published keys, audience, issuer,
// nonce, expiry), takes the account's address from it, and stores the
// refresh token sealed. Every failure after the state was found marks the
// connection FAILED with the reason. Errors are EINVALID with a message
// for the page; internal errors are plain.
func (s *Service) Complete(ctx context.Context, cb Callback) (Connected, error) {
	if cb.State == "" {
		return Connected{}, outbox.Invalid("state", "This page is where %s sends you back after you grant access. Start connecting your mailbox in the app.", "your mail provider")
	}
	var c outbox.OAuthConnection
	err := s.store.InTx(ctx, func(tx *db.Tx) error {
		var err error
		c, err = tx.OAuthConnectionTakeState(ctx, stateHash(cb.State))
		return err
	})
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return Connected{}, outbox.Invalid("state", "This link was already used, or is not one of ours. Start connecting your mailbox again in the app.")
	}
	if err != nil {
		return Connected{}, err
	}
	tenant, err := s.store.Tenant(ctx, c.TenantID)
	if err != nil {
		return Connected{}, err
	}
	fail := func(reason string, cause error) (Connected, error) {
		if _, err := s.store.OAuthConnectionFail(ctx, c.TenantID, c.ID, reason); err != nil {
			return Connected{}, err
		}
		if cause != nil {
			s.logger.WarnContext(ctx, "oauth: connection failed", "tenant", tenant.Slug, "connection", c.ID, "provider", c.Provider, "error", cause)
		}
		return Connected{}, outbox.Invalid("state", "%s Start connecting your mailbox again in the app.", reason)
	}
	title := providerTitle(c.Provider)
	switch {
	case c.StateExpiresAt == nil || time.Now().After(*c.StateExpiresAt):
		return fail(fmt.Sprintf("The connection was not completed within %s of starting it.", s.opts.StateTTL), nil)
	case cb.Error != "":
		return fail(fmt.Sprintf("%s did not grant access (%s%s).", title, cb.Error, describe(cb.ErrorDescription)), nil)
	case cb.Code == "":
		return fail(title+" sent no authorization code.", nil)
	}
	p, ok := s.providers[c.Provider]
	if !ok {
		return fail(title+" connections are no longer set up on this server.", nil)
	}
	doc, err := p.discover(ctx)
	if err != nil {
		return fail(title+" could not be reached.", err)
	}
	verifier, err := s.keyring.Open(secret.Sealed{KeyID: c.Verifier.KeyID, Data: c.Verifier.Data}, verifierAAD(c.TenantID, c.Sender))
	if err != nil {
		return fail("The authorization request could not be read.", err)
	}
	httpCtx := context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient)
	tok, err := doc.oauth.Exchange(httpCtx, cb.Code, oauth2.VerifierOption(string(verifier)))
	if err != nil {
		return fail(title+" did not accept the authorization"+retrieveCode(err)+".", err)
	}
	email, subject, err := s.account(ctx, c, doc, tok)
	if err != nil {
		return fail(err.Error(), nil)
	}
	if tok.RefreshToken == "" {
		return fail(title+" gave no refresh token, so the connection could not stay on. Remove the app's access in your "+title+" account's security settings, then connect again.", nil)
	}
	sealed, err := s.sealRefreshToken(c.TenantID, c.ID, tok.RefreshToken)
	if err != nil {
		return Connected{}, err
	}
	c.Email, c.AccountSubject, c.RefreshToken = email, subject, sealed
	actx := outbox.NewContextWithTenant(ctx, tenant)
	actx = auth.NewContextWithPrincipal(actx, auth.Principal{Kind: auth.Kind(c.CreatedByKind), Subject: c.CreatedBy, Tenant: tenant.Slug})
	err = s.store.InTx(actx, func(tx *db.Tx) error {
		after, err := tx.OAuthConnectionConnect(actx, c)
		if err != nil {
			return err
		}
		c = after
		return audit.Record(actx, tx, "oauth.connect", c.Sender+": "+string(c.Provider)+" "+c.ID.String(), nil, auditView(after))
	})
	if outbox.ErrorCode(err) == outbox.ENOTFOUND {
		return Connected{}, outbox.Invalid("state", "The sender this connection was for no longer exists, or the connection was ended meanwhile. Start connecting your mailbox again in the app.")
	}
	if err != nil {
		return Connected{}, err
	}
	s.tokens.put(cacheKey{c.TenantID, c.ID}, cachedToken{value: tok.AccessToken, expiry: tok.Expiry, email: email})
	return Connected{ID: c.ID.String(), Provider: title, TenantName: tenant.Name, Sender: c.Sender, Email: email}, nil
}

// idClaims are the ID token claims Complete reads.
type idClaims struct {
	Email             string `json:"email"`
	EmailVerified     any    `json:"email_verified"`
	PreferredUsername string `json:"preferred_username"`
	TenantID          string `json:"tid"`
}

// account verifies the ID token of tok and returns the account's address
// and subject. The address is the email claim, refused when
// email_verified is given and false; Microsoft work accounts may carry no
// email claim, and then their preferred_username (the sign-in address,
// which is the SMTP login) is taken when it is an address. The error's
// text is fit for the page.
func (s *Service) account(ctx context.Context, c outbox.OAuthConnection, doc *discovered, tok *oauth2.Token) (string, string, error) {
	title := providerTitle(c.Provider)
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", fmt.Errorf("%s sent no ID token: check that the openid scope is configured (OUTBOX_OAUTH_%s_SCOPES).", title, c.Provider)
	}
	idt, err := doc.verifier.Verify(ctx, raw)
	if err != nil {
		s.logger.WarnContext(ctx, "oauth: ID token refused", "connection", c.ID, "error", err)
		return "", "", fmt.Errorf("%s's ID token could not be verified.", title)
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		return "", "", fmt.Errorf("%s's ID token could not be read.", title)
	}
	if err := checkIssuer(doc.issuer, idt.Issuer, claims.TenantID); err != nil {
		s.logger.WarnContext(ctx, "oauth: ID token issuer refused", "connection", c.ID, "error", err)
		return "", "", fmt.Errorf("%s's ID token could not be verified.", title)
	}
	if idt.Nonce != c.Nonce || c.Nonce == "" {
		return "", "", fmt.Errorf("%s's answer belongs to another authorization request.", title)
	}
	email := claims.Email
	if email == "" && c.Provider == outbox.OAuthMicrosoft && strings.Contains(claims.PreferredUsername, "@") {
		email = claims.PreferredUsername
	}
	if email == "" {
		return "", "", fmt.Errorf("%s did not tell the account's address: check that the email scope is configured (OUTBOX_OAUTH_%s_SCOPES).", title, c.Provider)
	}
	if v, given := verified(claims.EmailVerified); given && !v {
		return "", "", fmt.Errorf("%s has not verified the account's address %s.", title, email)
	}
	addr, err := mailaddr.Normalize("email", email)
	if err != nil {
		return "", "", fmt.Errorf("%s gave an account address that cannot send mail (%s).", title, email)
	}
	return addr, idt.Subject, nil
}

// verified reads email_verified, which some providers send as a string.
func verified(v any) (value, given bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		return strings.EqualFold(v, "true"), true
	}
	return false, false
}

func describe(desc string) string {
	if desc == "" {
		return ""
	}
	if len(desc) > 200 {
		desc = desc[:200] + "…"
	}
	return ": " + desc
}

// retrieveCode is " (invalid_grant)" and the like for a token endpoint's
// refusal, "" for other errors.
func retrieveCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return " (" + re.ErrorCode + ")"
	}
	return ""
}
