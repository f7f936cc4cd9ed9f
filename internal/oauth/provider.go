package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/outbox/outbox/internal/outbox"
)

// Provider is the OAuth client registered with one mail provider.
type Provider struct {
	// Name is GOOGLE or MICROSOFT.
	Name outbox.OAuthProvider
	// ClientID and ClientSecret are the registered app's credentials.
	ClientID, ClientSecret string
	// Issuer is the OIDC issuer whose discovery document names the
	// endpoints, the signing keys and the revocation endpoint.
	Issuer string
	// Scopes are asked for in the authorization request.
	Scopes []string
}

// The default issuers and scopes (config.OAuthClient's defaults).
const (
	GoogleIssuer    = "https://accounts.google.com"
	MicrosoftIssuer = "https://login.microsoftonline.com/common/v2.0"
)

// tenantTemplate is the placeholder Microsoft's multi-tenant discovery
// documents (/common, /organizations, /consumers) put in their issuer: each
// ID token's iss names the account's own directory instead.
const tenantTemplate = "{tenantid}"

// authParams are the provider's extra authorization parameters. Google
// issues a refresh token only for access_type=offline, and a new one on a
// repeated connection only with prompt=consent; Microsoft issues one for
// the offline_access scope and lets the user pick the account.
func (p Provider) authParams() []oauth2.AuthCodeOption {
	if p.Name == outbox.OAuthGoogle {
		return []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent")}
	}
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "select_account")}
}

// discovered is a provider's discovery document, as far as it is used.
type discovered struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	// issuer is the discovered issuer; with tenantTemplate in it, the ID
	// token's iss is checked against it with the token's tid filled in.
	issuer string
	// revocation is the RFC 7009 endpoint, "" when the provider offers none.
	revocation string
}

// provider is a Provider with its discovery document, fetched on first use
// and kept; a failed fetch is tried again by the next caller.
type provider struct {
	Provider
	redirectURL string
	client      *http.Client

	mu  sync.Mutex
	doc *discovered
}

// discover returns the provider's endpoints and ID token verifier.
func (p *provider) discover(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.doc != nil {
		return p.doc, nil
	}
	ctx = oidc.ClientContext(ctx, p.client)
	op, err := oidc.NewProvider(ctx, p.Issuer)
	var mismatch *oidc.IssuerMismatchError
	if errors.As(err, &mismatch) && strings.Contains(mismatch.Discovered, tenantTemplate) {
		// Microsoft's multi-tenant issuer: the discovery document names
		// "https://login.microsoftonline.com/{tenantid}/v2.0"; accept it as
		// a template and check each token's iss against it (checkIssuer).
		op, err = oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, mismatch.Discovered), p.Issuer)
	}
	if err != nil {
		return nil, fmt.Errorf("discovering the OpenID configuration of %s: %w", p.Issuer, err)
	}
	var extra struct {
		Issuer     string `json:"issuer"`
		Revocation string `json:"revocation_endpoint"`
	}
	if err := op.Claims(&extra); err != nil {
		return nil, fmt.Errorf("reading the OpenID configuration of %s: %w", p.Issuer, err)
	}
	templated := strings.Contains(extra.Issuer, tenantTemplate)
	p.doc = &discovered{
		oauth: oauth2.Config{
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: op.Endpoint(),
			RedirectURL: p.redirectURL, Scopes: p.Scopes,
		},
		verifier:   op.VerifierContext(oidc.ClientContext(context.Background(), p.client), &oidc.Config{ClientID: p.ClientID, SkipIssuerCheck: templated}),
		issuer:     extra.Issuer,
		revocation: extra.Revocation,
	}
	return p.doc, nil
}

// checkIssuer checks the iss of a verified ID token against the discovered
// issuer. For a template (Microsoft's "common" endpoint) the token's tid
// claim, the account's directory, must be a plain identifier and iss must
// be the template with it filled in; otherwise go-oidc has already
// required iss to equal the issuer.
func checkIssuer(discoveredIssuer, iss, tid string) error {
	if !strings.Contains(discoveredIssuer, tenantTemplate) {
		return nil
	}
	if tid == "" || strings.ContainsAny(tid, "/?#{}% ") {
		return fmt.Errorf("the ID token names no valid directory (tid %q)", tid)
	}
	if want := strings.Replace(discoveredIssuer, tenantTemplate, tid, 1); iss != want {
		return fmt.Errorf("the ID token's issuer %q is not %q", iss, want)
	}
	return nil
}
