package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/outbox/outbox/internal/outbox"
)

// Config configures a Verifier. Issuer, Audience and at least one of
// HS256Secret, JWKSFile and JWKSURL are required.
type Config struct {
	// Issuer is the `iss` of platform user tokens (OUTBOX_JWT_ISSUER). A token
	// with another issuer is taken for a partner token. Required.
	Issuer string
	// Audience is the `aud` every token must name (OUTBOX_JWT_AUDIENCE).
	// Required.
	Audience string
	// HS256Secret verifies platform tokens signed with HS256. It must have at
	// least 32 bytes (RFC 7518 §3.2). Default: none, HS256 is refused.
	HS256Secret []byte
	// JWKSFile is the path of a JWKS JSON file holding the identity
	// provider's public keys for RS256, PS256, ES256 and EdDSA. It is read
	// once, by NewVerifier. Default: none, only HS256 is accepted.
	JWKSFile string
	// JWKSURL is where the identity provider publishes its public keys
	// (OUTBOX_JWT_JWKS_URL), e.g. https://example.eu.auth0.com/.well-known/jwks.json
	// or Keycloak's …/protocol/openid-connect/certs. Keys are fetched on first
	// use and cached; see jwksRemote. Not together with JWKSFile. Default: none.
	JWKSURL string
	// JWKSCacheTTL is how long keys fetched from JWKSURL are used before
	// they are fetched again. Default (zero): 10 minutes.
	JWKSCacheTTL time.Duration
	// JWKSTimeout bounds one fetch of JWKSURL. Default (zero): 5 seconds.
	JWKSTimeout time.Duration
	// JWKSMinRefresh is the least time between two fetches of JWKSURL, also
	// when tokens name a kid the cached keys do not hold. Default (zero): 30
	// seconds.
	JWKSMinRefresh time.Duration
	// HTTPClient fetches JWKSURL. Default: http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives warnings about failed JWKS fetches. Default: discarded.
	Logger *slog.Logger
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Default (zero): 1 minute.
	Leeway time.Duration
	// Partners looks up partner keys and remembers partner token ids.
	// Default (nil): partner tokens are refused.
	Partners PartnerKeys
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// The bounds of a token this service reads at all.
const (
	defaultLeeway = time.Minute
	// maxTokenSize is far above any legitimate token (an RS4096 signature is
	// 683 characters) and stops a caller from making us parse megabytes.
	maxTokenSize = 8 << 10
	// minSecretSize is the HS256 key size RFC 7518 §3.2 requires.
	minSecretSize = 32
)

// Verifier turns a bearer token into a Principal. It is safe for concurrent
// use; its keys are fixed when it is created, except those behind a JWKS
// URL, which it fetches and refreshes itself.
type Verifier struct {
	issuer   string
	audience string
	secret   []byte
	jwks     []jwksKey
	// remote, when not nil, serves the JWKS keys from Config.JWKSURL.
	remote   *jwksRemote
	leeway   time.Duration
	partners PartnerKeys
	now      func() time.Time
	// platformAlgs are the algorithms platform tokens may use: HS256 when a
	// secret is configured, and those of the JWKS keys.
	platformAlgs []string
	// platform parses platform tokens; it allows exactly the algorithms for
	// which a key is configured.
	platform *jwt.Parser
}

// NewVerifier returns a Verifier for cfg, having read the JWKS file. It
// returns an error when a required field is missing, the secret is too
// short, the leeway is negative, or the JWKS file cannot be read or holds a
// key that is private, weak or of an unsupported type.
func NewVerifier(cfg Config) (*Verifier, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("auth: an issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("auth: an audience is required")
	case len(cfg.HS256Secret) == 0 && cfg.JWKSFile == "" && cfg.JWKSURL == "":
		return nil, errors.New("auth: an HS256 secret or a JWKS file is required (or a JWKS URL)")
	case cfg.JWKSFile != "" && cfg.JWKSURL != "":
		return nil, errors.New("auth: give a JWKS file or a JWKS URL, not both")
	case len(cfg.HS256Secret) > 0 && len(cfg.HS256Secret) < minSecretSize:
		return nil, fmt.Errorf("auth: the HS256 secret must have at least %d bytes", minSecretSize)
	case cfg.Leeway < 0:
		return nil, errors.New("auth: the leeway must not be negative")
	}
	v := &Verifier{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		secret:   slices.Clone(cfg.HS256Secret),
		leeway:   cfg.Leeway,
		partners: cfg.Partners,
		now:      cfg.Now,
	}
	if v.leeway == 0 {
		v.leeway = defaultLeeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.JWKSFile != "" {
		keys, err := loadJWKS(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("auth: loading JWKS file %s: %w", cfg.JWKSFile, err)
		}
		v.jwks = keys
	}
	if cfg.JWKSURL != "" {
		remote, err := newJWKSRemote(cfg, v.now)
		if err != nil {
			return nil, err
		}
		v.remote = remote
	}
	v.platformAlgs = platformAlgorithms(v.secret, v.jwks, v.remote != nil)
	v.platform = jwt.NewParser(
		jwt.WithValidMethods(v.platformAlgs),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
	)
	return v, nil
}

// platformAlgorithms returns the algorithms for which a platform key is
// configured. The keys behind a JWKS URL are not known in advance, so with
// one every public-key algorithm is allowed; each token is still checked
// against the algorithms of the one key it names.
func platformAlgorithms(secret []byte, jwks []jwksKey, remote bool) []string {
	var algs []string
	if len(secret) > 0 {
		algs = append(algs, algHS256)
	}
	if remote {
		algs = append(algs, algRS256, algPS256, algES256, algEdDSA)
	}
	for _, k := range jwks {
		for _, alg := range k.algs {
			if !slices.Contains(algs, alg) {
				algs = append(algs, alg)
			}
		}
	}
	return algs
}

// tokenClaims are the claims this service reads. Roles stays raw so that a
// malformed list gets its own error rather than "malformed token".
type tokenClaims struct {
	jwt.RegisteredClaims
	Tenant string          `json:"tenant,omitempty"`
	Roles  json.RawMessage `json:"roles,omitempty"`
}

// Verify checks rawToken (the compact JWT, without "Bearer ") and returns
// the caller it proves. A token whose iss is Config.Issuer is a platform user
// token; any other issuer is taken for a partner's client id. Verify returns
// an *outbox.Error with code EUNAUTHENTICATED and a short reason when the
// token is refused. When Partners fails, it returns that error wrapped, so
// it keeps its code (EINTERNAL when it has none). No error repeats the token.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (Principal, error) {
	if rawToken == "" {
		return Principal{}, unauthenticated("missing token")
	}
	if len(rawToken) > maxTokenSize {
		return Principal{}, unauthenticated("token too large")
	}
	tok, claims, err := peek(rawToken)
	if err != nil {
		return Principal{}, err
	}
	switch {
	case claims.Issuer == "":
		return Principal{}, unauthenticated("missing iss")
	case claims.Issuer == v.issuer:
		return v.verifyPlatform(ctx, rawToken, tok)
	case v.partners != nil:
		return v.verifyPartner(ctx, rawToken, tok, claims.Issuer)
	}
	return Principal{}, unauthenticated("wrong issuer")
}

// peek decodes a token without verifying it, only to learn which kind of
// token it claims to be and which key it names. Nothing it returns is
// trusted until the signature is checked.
func peek(raw string) (*jwt.Token, *tokenClaims, error) {
	var claims tokenClaims
	tok, _, err := jwt.NewParser().ParseUnverified(raw, &claims)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenUnverifiable) {
			// The alg header is missing or names no algorithm we know.
			return nil, nil, unauthenticated("algorithm not allowed")
		}
		return nil, nil, unauthenticated("malformed token")
	}
	// RFC 7515 §4.1.11: a recipient that does not understand a critical
	// extension must refuse the token; we understand none.
	if _, ok := tok.Header["crit"]; ok {
		return nil, nil, unauthenticated("unsupported critical header")
	}
	if kid, ok := tok.Header["kid"]; ok {
		if _, ok := kid.(string); !ok {
			return nil, nil, unauthenticated("malformed token")
		}
	}
	return tok, &claims, nil
}

// headerKid returns the kid header of a token that went through peek.
func headerKid(tok *jwt.Token) string {
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// verifyPlatform verifies a token of the platform's identity provider.
func (v *Verifier) verifyPlatform(ctx context.Context, raw string, tok *jwt.Token) (Principal, error) {
	key, err := v.platformKey(ctx, tok)
	if err != nil {
		return Principal{}, err
	}
	var claims tokenClaims
	if _, err := v.platform.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		return Principal{}, rejection(err, &claims)
	}
	if claims.Subject == "" {
		return Principal{}, unauthenticated("missing sub")
	}
	roles, rolesErr := parseRoles(claims.Roles)
	if claimsOperator(claims.Roles) {
		if rolesErr != nil {
			return Principal{}, rolesErr
		}
		// An operator acts for no tenant: the claim, if any, is dropped
		// unread, and so are roles that only mean something inside one.
		return Principal{
			Kind:      KindOperator,
			Subject:   claims.Subject,
			Roles:     []string{RoleOperator},
			TokenID:   claims.ID,
			ExpiresAt: claims.ExpiresAt.UTC(),
		}, nil
	}
	if err := checkTenant(claims.Tenant); err != nil {
		return Principal{}, err
	}
	if rolesErr != nil {
		return Principal{}, rolesErr
	}
	return Principal{
		Kind:      KindUser,
		Subject:   claims.Subject,
		Tenant:    claims.Tenant,
		Roles:     roles,
		TokenID:   claims.ID,
		ExpiresAt: claims.ExpiresAt.UTC(),
	}, nil
}

// platformKey picks the key a platform token must verify against. The
// algorithm decides the kind of key: HS256 only ever gets the shared secret
// and a public-key algorithm only a JWKS key registered for it, so a token
// can never make us use a public key as an HMAC secret.
func (v *Verifier) platformKey(ctx context.Context, tok *jwt.Token) (any, error) {
	alg := tok.Method.Alg()
	if !slices.Contains(v.platformAlgs, alg) {
		return nil, unauthenticated("algorithm not allowed")
	}
	if alg == algHS256 {
		return v.secret, nil
	}
	var k jwksKey
	var err error
	if v.remote != nil {
		k, err = v.remote.key(ctx, headerKid(tok))
	} else {
		k, err = findJWKSKey(v.jwks, headerKid(tok))
	}
	if err != nil {
		return nil, err
	}
	if !slices.Contains(k.algs, alg) {
		return nil, unauthenticated("algorithm does not match key")
	}
	return k.pub, nil
}

// maxTenantLength is the longest tenant slug, in characters, the tenants
// table accepts.
const maxTenantLength = 200

// checkTenant refuses a tenant claim that could never name a tenant: empty,
// longer than maxTenantLength characters, or holding control characters
// (which Postgres refuses, NUL, or would show in logs, newlines). A signed
// token with such a claim is a misconfigured identity provider, not an
// internal error.
func checkTenant(tenant string) error {
	switch {
	case tenant == "":
		return unauthenticated("missing tenant")
	case utf8.RuneCountInString(tenant) > maxTenantLength:
		return unauthenticated(fmt.Sprintf("tenant longer than %d characters", maxTenantLength))
	case !utf8.ValidString(tenant) || strings.IndexFunc(tenant, unicode.IsControl) >= 0:
		return unauthenticated("tenant holds control characters")
	}
	return nil
}

// parseRoles checks the roles claim: absent, or a list of known roles.
func parseRoles(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, unauthenticated("roles must be a list of strings")
	}
	for _, role := range list {
		if !knownRole(role) {
			return nil, unauthenticated(fmt.Sprintf("unknown role %q", role))
		}
	}
	return list, nil
}

// claimsOperator reports whether a roles claim is a list naming
// RoleOperator, whatever else it names; such a token is judged as an
// operator's, never as a tenant user's.
func claimsOperator(raw json.RawMessage) bool {
	var list []string
	return json.Unmarshal(raw, &list) == nil && slices.Contains(list, RoleOperator)
}

// rejection turns an error of the JWT parser into the reason a caller sees.
// When several checks failed, the first match below wins.
func rejection(err error, claims *tokenClaims) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthenticated("malformed token")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthenticated("invalid signature")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthenticated(missingClaim(claims))
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthenticated("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthenticated("token not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthenticated("token issued in the future")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return unauthenticated("wrong issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauthenticated("wrong audience")
	}
	return unauthenticated("invalid token")
}

// missingClaim names the required registered claim absent from claims.
func missingClaim(claims *tokenClaims) string {
	switch {
	case claims.ExpiresAt == nil:
		return "missing exp"
	case len(claims.Audience) == 0 || slices.Equal(claims.Audience, jwt.ClaimStrings{""}):
		return "missing aud"
	case claims.Issuer == "":
		return "missing iss"
	}
	return "missing required claim"
}

// unauthenticated returns the error of a refused token. reason must never
// include the token, nor anything it says before its signature is checked.
func unauthenticated(reason string) *outbox.Error {
	return &outbox.Error{Code: outbox.EUNAUTHENTICATED, Message: reason}
}
