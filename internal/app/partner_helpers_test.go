package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

// partnerClient is a partner client registered in a test, with its one key.
type partnerClient struct {
	ID, ClientID string
	Kid          string
	Key          ed25519.PrivateKey
}

const registerPartnerMutation = `mutation($input: PartnerClientInput!) {
	registerPartnerClient(input: $input) { id clientId name scopes keys { kid algorithm createdAt } createdAt revokedAt }
}`

// registerPartner registers a partner client with one fresh Ed25519 key
// (kid "k1", given as PEM) through the API, as adminToken's caller.
func (b *bundle) registerPartner(t *testing.T, adminToken string, scopes ...string) partnerClient {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var got struct {
		RegisterPartnerClient struct{ ID, ClientID string }
	}
	b.do(t, adminToken, registerPartnerMutation, map[string]any{"input": map[string]any{
		"name": "ERP", "scopes": scopes, "keys": []map[string]any{{"kid": "k1", "pem": pemOf(t, pub)}},
	}}).decode(t, &got)
	return partnerClient{ID: got.RegisterPartnerClient.ID, ClientID: got.RegisterPartnerClient.ClientID, Kid: "k1", Key: key}
}

// token signs a fresh single-use token of the partner, after edit changed
// its claims (nil: none).
func (p partnerClient) token(t *testing.T, b *bundle, edit func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.ClientID, "aud": b.cfg.JWTAudience, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "jti": rand.Text(),
	}
	if edit != nil {
		edit(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = p.Kid
	signed, err := tok.SignedString(p.Key)
	require.NoError(t, err)
	return signed
}

func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// expiredToken is an admin token of tenant that expired ten minutes ago.
func (b *bundle) expiredToken(t *testing.T, tenant string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": b.cfg.JWTIssuer, "aud": b.cfg.JWTAudience, "sub": "user-" + tenant, "tenant": tenant,
		"roles": []string{"admin"}, "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-10 * time.Minute).Unix(),
	})
	signed, err := tok.SignedString([]byte(b.cfg.JWTSecret))
	require.NoError(t, err)
	return signed
}

// wsConn is a graphql-transport-ws client connection. One goroutine reads
// it, so that waiting for a message with a timeout does not close it.
type wsConn struct {
	conn *websocket.Conn
	in   chan wsMessage // closed when the connection ends
}

// wsMessage is one message of the protocol.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// errInitRefused is dialWS's error when the server refused connection_init.
var errInitRefused = errors.New("connection_init refused")

// dialWS opens a websocket to /graphql and sends connection_init with token
// ("" sends none). It returns errInitRefused when the server closes the
// connection instead of acknowledging.
func (b *bundle) dialWS(t *testing.T, token string) (*wsConn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(b.srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	t.Cleanup(func() { conn.CloseNow() }) //nolint:errcheck // closing a closed connection fails harmlessly
	payload := map[string]any{}
	if token != "" {
		payload["authorization"] = "Bearer " + token
	}
	p, err := json.Marshal(payload)
	require.NoError(t, err)
	require.NoError(t, wsjson.Write(ctx, conn, wsMessage{Type: "connection_init", Payload: p}))
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			if websocket.CloseStatus(err) != -1 {
				return nil, errInitRefused
			}
			return nil, err
		}
		if m.Type == "connection_ack" {
			break
		}
	}
	c := &wsConn{conn: conn, in: make(chan wsMessage, 64)}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		defer close(c.in)
		for {
			var m wsMessage
			if err := wsjson.Read(context.Background(), conn, &m); err != nil {
				return
			}
			if m.Type == "ping" {
				// The server drops a graphql-transport-ws client that does not answer.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = wsjson.Write(ctx, conn, wsMessage{Type: "pong"})
				cancel()
				continue
			}
			select {
			case c.in <- m:
			case <-done:
				return
			}
		}
	}()
	return c, nil
}

// subscribe starts operation query as subscription id.
func (c *wsConn) subscribe(t *testing.T, id, query string, vars map[string]any) {
	t.Helper()
	p, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wsjson.Write(ctx, c.conn, wsMessage{ID: id, Type: "subscribe", Payload: p}))
}

// errNoMessage is next's error when nothing came in time.
var errNoMessage = errors.New("no message in time")

// next returns the next next/error/complete message of subscription id, as
// a gqlResponse (an "error" message's errors in Errors). It returns
// errNoMessage when nothing comes within timeout, and an error when the
// connection ends.
func (c *wsConn) next(t *testing.T, id string, timeout time.Duration) (string, gqlResponse, error) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		var m wsMessage
		var open bool
		select {
		case m, open = <-c.in:
			if !open {
				return "", gqlResponse{}, errors.New("the connection ended")
			}
		case <-deadline:
			return "", gqlResponse{}, errNoMessage
		}
		if m.ID != id {
			continue
		}
		var r gqlResponse
		r.raw = string(m.Payload)
		switch m.Type {
		case "next":
			require.NoError(t, json.Unmarshal(m.Payload, &r), r.raw)
			return m.Type, r, nil
		case "error":
			require.NoError(t, json.Unmarshal(m.Payload, &r.Errors), r.raw)
			return m.Type, r, nil
		case "complete":
			return m.Type, r, nil
		}
	}
}

// closed waits until the server closes the connection, and fails the test
// when it is still open after timeout.
func (c *wsConn) closed(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case _, open := <-c.in:
			if !open {
				return
			}
		case <-deadline:
			t.Fatalf("the websocket is still open after %s", timeout)
		}
	}
}
