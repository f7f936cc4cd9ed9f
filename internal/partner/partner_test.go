package partner

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/db"
	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/dbtest"
	"github.com/outbox/outbox/internal/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const platformIssuer = "outbox-test"

var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// bundle is what a registry test needs.
type bundle struct {
	store    *db.Store
	registry *Registry
	// acme and globex are contexts of an admin of each tenant.
	acme, globex context.Context
}

func setup(t testing.TB) *bundle {
	t.Helper()
	store := db.NewStore(dbtest.Pool(t))
	b := &bundle{store: store, registry: NewRegistry(store, Options{PlatformIssuer: platformIssuer})}
	b.acme = adminContext(t, store, "acme")
	b.globex = adminContext(t, store, "globex")
	return b
}

func adminContext(t testing.TB, store *db.Store, slug string) context.Context {
	t.Helper()
	ctx := context.Background()
	tenant, err := store.EnsureTenant(ctx, slug)
	require.NoError(t, err)
	ctx = outbox.NewContextWithTenant(ctx, tenant)
	ctx = outbox.NewContextWithRequestID(ctx, "req-"+slug)
	return auth.NewContextWithPrincipal(ctx, auth.Principal{Kind: auth.KindUser, Subject: "admin@" + slug, Tenant: slug, Roles: []string{auth.RoleAdmin}})
}

func edKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func publicPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func publicJWK(t *testing.T, pub any, kid string) []byte {
	t.Helper()
	data, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: kid})
	require.NoError(t, err)
	return data
}

// register registers a client with one Ed25519 key "k1" and the scopes.
func (b *bundle) register(t testing.TB, ctx context.Context, scopes ...string) (Client, ed25519.PrivateKey) {
	t.Helper()
	key := edKey(t)
	c, err := b.registry.Register(ctx, Registration{Name: "ERP", Scopes: scopes,
		Keys: []KeyInput{{Kid: "k1", PEM: publicPEM(t, key.Public())}}})
	require.NoError(t, err)
	return c, key
}

func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e := outbox.AsError(err)
	require.NotNil(t, e, "%v", err)
	require.Equal(t, outbox.EINVALID, e.Code, "%v", err)
	require.Equal(t, field, e.Field, "%v", err)
}

func TestRegisterAndList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ed := edKey(t)

	c, err := b.registry.Register(b.acme, Registration{
		Name:   "  ERP connector  ",
		Scopes: []string{"messages:send", "logs:read", "messages:send"},
		Keys: []KeyInput{
			{Kid: "rsa-2026", PEM: "\n  " + publicPEM(t, rsaKey().Public())},
			{Kid: "ec-2026", JWK: publicJWK(t, ec.Public(), "ec-2026")},
			{Kid: "ed-2026", JWK: publicJWK(t, ed.Public(), ""), PEM: ""},
		},
	})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(c.ClientID, "ptr_"), c.ClientID)
	require.Equal(t, "ERP connector", c.Name)
	require.Equal(t, []auth.Scope{auth.ScopeMessagesSend, auth.ScopeLogsRead}, c.Scopes)
	require.Nil(t, c.RevokedAt)
	algs := map[string]string{}
	for _, k := range c.Keys {
		algs[k.Kid] = k.Algorithm
		require.NotEmpty(t, k.Thumbprint)
	}
	require.Equal(t, map[string]string{"rsa-2026": "RS256", "ec-2026": "ES256", "ed-2026": "EdDSA"}, algs)

	other, _ := b.register(t, b.acme, "settings:read")
	require.NotEqual(t, c.ClientID, other.ClientID)
	b.register(t, b.globex, "settings:read")

	list, err := b.registry.List(b.acme)
	require.NoError(t, err)
	require.Len(t, list, 2, "only the tenant's own clients")
	require.Equal(t, other.ClientID, list[0].ClientID, "newest first")
	require.Equal(t, c, list[1])

	// The audit entry names the actor and the keys, but holds no key material.
	var actor, after, requestID string
	require.NoError(t, b.store.Pool().QueryRow(context.Background(),
		`SELECT actor, after::text, request_id FROM audit_log WHERE action = 'partner_client.register' AND target = $1`,
		"partner_client:"+c.ClientID).Scan(&actor, &after, &requestID))
	require.Equal(t, "admin@acme", actor)
	require.Equal(t, "req-acme", requestID)
	require.Contains(t, after, "rsa-2026")
	require.Contains(t, after, c.Keys[0].Thumbprint)
	require.NotContains(t, after, "BEGIN PUBLIC KEY")
	var jwk struct{ X string }
	require.NoError(t, json.Unmarshal(publicJWK(t, ed.Public(), ""), &jwk))
	require.NotContains(t, after, jwk.X)
}

func TestRegisterRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := func(t *testing.T) KeyInput { return KeyInput{Kid: "k1", PEM: publicPEM(t, edKey(t).Public())} }
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)

	tests := []struct {
		name  string
		reg   func(t *testing.T) Registration
		field string
	}{
		{"no name", func(t *testing.T) Registration {
			return Registration{Name: "  ", Scopes: []string{"logs:read"}, Keys: []KeyInput{good(t)}}
		}, "name"},
		{"control character in name", func(t *testing.T) Registration {
			return Registration{Name: "ERP\r\nX-Evil: 1", Scopes: []string{"logs:read"}, Keys: []KeyInput{good(t)}}
		}, "name"},
		{"long name", func(t *testing.T) Registration {
			return Registration{Name: strings.Repeat("あ", 101), Scopes: []string{"logs:read"}, Keys: []KeyInput{good(t)}}
		}, "name"},
		{"no scope", func(t *testing.T) Registration {
			return Registration{Name: "ERP", Keys: []KeyInput{good(t)}}
		}, "scopes"},
		{"internal permission as scope", func(t *testing.T) Registration {
			return Registration{Name: "ERP", Scopes: []string{"partners:manage"}, Keys: []KeyInput{good(t)}}
		}, "scopes"},
		{"no key", func(t *testing.T) Registration {
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}}
		}, "keys"},
		{"too many keys", func(t *testing.T) Registration {
			keys := make([]KeyInput, MaxKeys+1)
			for i := range keys {
				keys[i] = good(t)
			}
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: keys}
		}, "keys"},
		{"no kid", func(t *testing.T) Registration {
			k := good(t)
			k.Kid = ""
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: []KeyInput{k}}
		}, "keys[0].kid"},
		{"kid with a space", func(t *testing.T) Registration {
			k := good(t)
			k.Kid = "key 1"
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: []KeyInput{k}}
		}, "keys[0].kid"},
		{"duplicate kid", func(t *testing.T) Registration {
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: []KeyInput{good(t), good(t)}}
		}, "keys[1].kid"},
		{"private key", func(t *testing.T) Registration {
			der, err := x509.MarshalPKCS8PrivateKey(edKey(t))
			require.NoError(t, err)
			k := KeyInput{Kid: "k1", PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: []KeyInput{k}}
		}, "keys[0].pem"},
		{"weak RSA key", func(t *testing.T) Registration {
			k := KeyInput{Kid: "k1", PEM: publicPEM(t, weak.Public())}
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: []KeyInput{good(t), k}}
		}, "keys[1].pem"},
		{"PEM and JWK", func(t *testing.T) Registration {
			pub := edKey(t).Public()
			k := KeyInput{Kid: "k1", PEM: publicPEM(t, pub), JWK: publicJWK(t, pub, "k1")}
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: []KeyInput{k}}
		}, "keys[0].key"},
		{"JWK naming another kid", func(t *testing.T) Registration {
			k := KeyInput{Kid: "k1", JWK: publicJWK(t, edKey(t).Public(), "k2")}
			return Registration{Name: "ERP", Scopes: []string{"logs:read"}, Keys: []KeyInput{k}}
		}, "keys[0].jwk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.registry.Register(b.acme, tt.reg(t))
			requireInvalid(t, err, tt.field)
		})
	}
	list, err := b.registry.List(b.acme)
	require.NoError(t, err)
	require.Empty(t, list, "nothing is stored for refused input")
}

func TestPartnerKeyServesTheVerifier(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, key := b.register(t, b.acme, "messages:send", "logs:read")
	ctx := context.Background()

	k, err := b.registry.PartnerKey(ctx, c.ClientID, "k1")
	require.NoError(t, err)
	require.Equal(t, "acme", k.Tenant)
	require.Equal(t, c.ClientID, k.ClientID)
	require.Equal(t, "EdDSA", k.Algorithm)
	require.Equal(t, []auth.Scope{auth.ScopeMessagesSend, auth.ScopeLogsRead}, k.Scopes)
	require.True(t, key.Public().(ed25519.PublicKey).Equal(k.PublicKey))
	require.False(t, k.Revoked)

	for _, tc := range [][2]string{{c.ClientID, "k2"}, {"ptr_nobody", "k1"}, {platformIssuer, "k1"}} {
		_, err = b.registry.PartnerKey(ctx, tc[0], tc[1])
		require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", tc)
	}

	_, err = b.registry.Revoke(b.acme, c.ClientID)
	require.NoError(t, err)
	k, err = b.registry.PartnerKey(ctx, c.ClientID, "k1")
	require.NoError(t, err)
	require.True(t, k.Revoked, "a revocation takes effect on the next lookup")
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := b.register(t, b.acme, "logs:read")
	next := edKey(t)

	// Named by id or by client id.
	got, err := b.registry.AddKey(b.acme, c.ID.String(), KeyInput{Kid: "k2", JWK: publicJWK(t, next.Public(), "k2")})
	require.NoError(t, err)
	require.Len(t, got.Keys, 2)
	_, err = b.registry.AddKey(b.acme, c.ClientID, KeyInput{Kid: "k2", PEM: publicPEM(t, edKey(t).Public())})
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "%v", err)
	_, err = b.registry.AddKey(b.acme, c.ClientID, KeyInput{Kid: "k3", PEM: "not a key"})
	requireInvalid(t, err, "key.pem")

	got, err = b.registry.RemoveKey(b.acme, c.ClientID, "k1")
	require.NoError(t, err)
	require.Len(t, got.Keys, 1)
	require.Equal(t, "k2", got.Keys[0].Kid)
	_, err = b.registry.PartnerKey(context.Background(), c.ClientID, "k1")
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "a removed key is refused at once")

	_, err = b.registry.RemoveKey(b.acme, c.ClientID, "k1")
	require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", err)
	_, err = b.registry.RemoveKey(b.acme, c.ClientID, "k2")
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "the last key stays: %v", err)

	var actions []string
	rows, err := b.store.Pool().Query(context.Background(), `SELECT action FROM audit_log WHERE target LIKE $1 ORDER BY id`, "partner_client:"+c.ClientID+"%")
	require.NoError(t, err)
	for rows.Next() {
		var a string
		require.NoError(t, rows.Scan(&a))
		actions = append(actions, a)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"partner_client.register", "partner_key.add", "partner_key.remove"}, actions)
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := b.register(t, b.acme, "logs:read")

	revoked, err := b.registry.Revoke(b.acme, c.ID.String())
	require.NoError(t, err)
	require.NotNil(t, revoked.RevokedAt)
	again, err := b.registry.Revoke(b.acme, c.ClientID)
	require.NoError(t, err)
	require.Equal(t, revoked.RevokedAt, again.RevokedAt, "revoking twice changes nothing")

	_, err = b.registry.AddKey(b.acme, c.ClientID, KeyInput{Kid: "k2", PEM: publicPEM(t, edKey(t).Public())})
	require.Equal(t, outbox.ECONFLICT, outbox.ErrorCode(err), "%v", err)
}

func TestOtherTenantsClientsAreNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, _ := b.register(t, b.acme, "logs:read", "messages:send")
	key := KeyInput{Kid: "k9", PEM: publicPEM(t, edKey(t).Public())}

	for _, ref := range []string{c.ID.String(), c.ClientID} {
		_, err := b.registry.Revoke(b.globex, ref)
		require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", err)
		_, err = b.registry.AddKey(b.globex, ref, key)
		require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", err)
		_, err = b.registry.RemoveKey(b.globex, ref, "k1")
		require.Equal(t, outbox.ENOTFOUND, outbox.ErrorCode(err), "%v", err)
	}
	list, err := b.registry.List(b.acme)
	require.NoError(t, err)
	require.Equal(t, []Client{c}, list, "unchanged")
}

func TestRememberTokenID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	later := time.Now().Add(time.Hour)

	fresh, err := b.registry.RememberTokenID(ctx, "ptr_a", "jti-1", later)
	require.NoError(t, err)
	require.True(t, fresh)
	fresh, err = b.registry.RememberTokenID(ctx, "ptr_a", "jti-1", later)
	require.NoError(t, err)
	require.False(t, fresh, "a replay")
	fresh, err = b.registry.RememberTokenID(ctx, "ptr_b", "jti-1", later)
	require.NoError(t, err)
	require.True(t, fresh, "token ids are per client")

	// Ids of tokens that expired are forgotten a few at a time, and an id
	// whose token expired is fresh again.
	_, err = b.store.Pool().Exec(ctx, `INSERT INTO partner_token_ids (client_id, jti, expires_at)
		SELECT 'ptr_old', 'jti-' || i, now() - interval '1 minute' FROM generate_series(1, 10) AS i`)
	require.NoError(t, err)
	count := func() int {
		var n int
		require.NoError(t, b.store.Pool().QueryRow(ctx, `SELECT count(*) FROM partner_token_ids`).Scan(&n))
		return n
	}
	before := count()
	fresh, err = b.registry.RememberTokenID(ctx, "ptr_old", "jti-new", later)
	require.NoError(t, err)
	require.True(t, fresh)
	require.Equal(t, before-forgetBatch+1, count())
	for range 5 {
		_, err := b.registry.RememberTokenID(ctx, "ptr_c", rand.Text(), later)
		require.NoError(t, err)
	}
	var expired int
	require.NoError(t, b.store.Pool().QueryRow(ctx, `SELECT count(*) FROM partner_token_ids WHERE expires_at < now()`).Scan(&expired))
	require.Zero(t, expired)

	// An id used on a token that has expired may be used again.
	_, err = b.store.Pool().Exec(ctx, `INSERT INTO partner_token_ids VALUES ('ptr_d', 'jti-1', now() - interval '1 second')`)
	require.NoError(t, err)
	_, err = b.store.Pool().Exec(ctx, `INSERT INTO partner_token_ids SELECT 'ptr_e', 'jti-' || i, now() - interval '1 hour' FROM generate_series(1, 10) AS i`)
	require.NoError(t, err)
	fresh, err = b.registry.RememberTokenID(ctx, "ptr_d", "jti-1", later)
	require.NoError(t, err)
	require.True(t, fresh)
	fresh, err = b.registry.RememberTokenID(ctx, "ptr_d", "jti-1", later)
	require.NoError(t, err)
	require.False(t, fresh)
}

func TestRevocationsEndWatchedSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rev := NewRevocations(b.store, slogDiscard())
	t.Cleanup(rev.Close)
	c, _ := b.register(t, b.acme, "logs:read")
	other, _ := b.register(t, b.acme, "logs:read")

	session := rev.Watch(context.Background(), c.ClientID, "k1")
	bystander := rev.Watch(context.Background(), other.ClientID, "k1")
	select {
	case <-rev.connected:
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not connect")
	}
	require.NoError(t, session.Err())

	// Revoked while listening: the notice ends the session.
	_, err := b.registry.Revoke(b.acme, c.ClientID)
	require.NoError(t, err)
	select {
	case <-session.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the session of the revoked client is still open")
	}
	require.NoError(t, bystander.Err(), "other clients' sessions stay open")

	// A session opened after the revocation ends at once.
	late := rev.Watch(context.Background(), c.ClientID, "k1")
	require.Error(t, late.Err())

	// A session that ends on its own is forgotten.
	ctx, cancel := context.WithCancel(context.Background())
	rev.Watch(ctx, other.ClientID, "k1")
	cancel()
	require.Eventually(t, func() bool {
		rev.mu.Lock()
		defer rev.mu.Unlock()
		return len(rev.sessions[other.ClientID]) == 1
	}, 10*time.Second, 10*time.Millisecond)
}

func TestRevocationsAfterClose(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rev := NewRevocations(b.store, slogDiscard())
	rev.Close()
	ctx := context.Background()
	require.Equal(t, ctx, rev.Watch(ctx, "ptr_x", "k1"))
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRemovedKeyEndsItsSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rev := NewRevocations(b.store, slogDiscard())
	t.Cleanup(rev.Close)
	c, _ := b.register(t, b.acme, "logs:read")
	_, err := b.registry.AddKey(b.acme, c.ClientID, KeyInput{Kid: "k2", PEM: publicPEM(t, edKey(t).Public())})
	require.NoError(t, err)

	old := rev.Watch(context.Background(), c.ClientID, "k1")
	current := rev.Watch(context.Background(), c.ClientID, "k2")
	select {
	case <-rev.connected:
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not connect")
	}

	// Removing k1 ends the sessions opened with it, not the others.
	_, err = b.registry.RemoveKey(b.acme, c.ClientID, "k1")
	require.NoError(t, err)
	select {
	case <-old.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the session of the removed key is still open")
	}
	require.NoError(t, current.Err(), "sessions of the client's other keys stay open")

	// A session opened with the removed key after its removal ends at once.
	require.Error(t, rev.Watch(context.Background(), c.ClientID, "k1").Err())
	require.NoError(t, rev.Watch(context.Background(), c.ClientID, "k2").Err())
}
