package console

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// DevSignIn mints development tokens for the console's sign-in form, the
// way `outbox token` does, signed with the HS256 secret the service
// verifies with. The app serves it only outside production.
type DevSignIn struct {
	// Issuer, Audience and Secret are those of the service's verifier.
	Issuer, Audience string
	Secret           []byte
	// TTL is a token's lifetime unless the request asks for less;
	// default 1 h.
	TTL time.Duration
}

// devTokenRequest is the body of POST /console/dev/token.
type devTokenRequest struct {
	Tenant   string   `json:"tenant"`
	Roles    []string `json:"roles"`
	Operator bool     `json:"operator"`
	Subject  string   `json:"subject"`
	// TTLSeconds shortens the lifetime (to try how the console renews
	// an expired token); 0 or more than TTL: TTL.
	TTLSeconds int `json:"ttlSeconds"`
}

// devTokenAnswer is its answer.
type devTokenAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ServeHTTP answers GET /console/dev/token with {"devSignIn": true}, so
// the console knows to show the form, and POST with a JSON
// devTokenRequest with {"token", "expiresAt"}, or 400 with {"field",
// "message"} when the request is not one Mint accepts. POST needs the
// JSON content type, which a cross-site form cannot send without a
// preflight this endpoint never answers.
func (d *DevSignIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Prefix+"dev/token" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]bool{"devSignIn": true})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		http.Error(w, "send the request as application/json", http.StatusUnsupportedMediaType)
		return
	}
	var req devTokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "reading the request: " + err.Error()})
		return
	}
	ttl := d.TTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	if req.TTLSeconds > 0 && time.Duration(req.TTLSeconds)*time.Second < ttl {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	subject := req.Subject
	if subject == "" {
		subject = "dev"
	}
	mint := auth.MintConfig{
		Issuer: d.Issuer, Audience: d.Audience, HS256Secret: d.Secret,
		Subject: subject, TTL: ttl, Operator: req.Operator,
	}
	if !req.Operator {
		mint.Tenant, mint.Roles = req.Tenant, req.Roles
	}
	tok, err := auth.Mint(mint)
	if err != nil {
		var e *outbox.Error
		if errors.As(err, &e) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"field": e.Field, "message": e.Message})
			return
		}
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "minting the token failed"})
		return
	}
	writeJSON(w, http.StatusOK, devTokenAnswer{Token: tok, ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Second)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // a failed write has no one to tell
}
