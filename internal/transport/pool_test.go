package transport_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
	"github.com/outbox/outbox/internal/smtptest"
	"github.com/outbox/outbox/internal/transport"
)

// poolSetup is what a pool test needs: a server with auth over STARTTLS, a
// config for it and a pool closed at the end.
type poolSetup struct {
	srv  *smtptest.Server
	cfg  transport.SMTPConfig
	pool *transport.Pool
}

func setupPool(t *testing.T, conf transport.PoolConfig) poolSetup {
	t.Helper()
	srv := smtptest.Start(t, serverOpts(smtptest.SecurityStartTLSRequired))
	pool := transport.NewPool(conf)
	t.Cleanup(func() { require.NoError(t, pool.Close()) })
	return poolSetup{srv: srv, cfg: config(srv, outbox.SecurityStartTLS, outbox.AuthPlain), pool: pool}
}

func numbered(i int) transport.Message {
	msg := message()
	msg.Subject = fmt.Sprintf("Message %d", i)
	msg.MessageID = fmt.Sprintf("m%d@outbox.test", i)
	return msg
}

func TestPoolReusesConnection(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{})
	for i := range 5 {
		att, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(i))
		require.NoError(t, err)
		require.Equal(t, 250, att.Code)
		require.Equal(t, "TLS 1.3", att.TLSVersion)
	}
	require.Len(t, s.srv.Messages(), 5)
	require.Equal(t, 1, s.srv.Connections(), "one connection for five messages")
	require.Equal(t, 1, s.srv.Count(smtptest.StageAuth), "one login")
	require.Equal(t, 5, s.srv.Count(smtptest.StageMail))
	require.Equal(t, 1, s.pool.IdleConns("tenant-a"))
}

func TestPoolBoundsConnectionsPerAccount(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{MaxConnsPerAccount: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, s.srv.Messages(), 20)
	require.LessOrEqual(t, s.srv.Connections(), 2)
	require.LessOrEqual(t, s.pool.IdleConns("tenant-a"), 2)
}

func TestPoolSeparatesAccounts(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{})
	for _, key := range []string{"tenant-a", "tenant-b", "tenant-a", "tenant-b"} {
		_, err := s.pool.Send(context.Background(), key, s.cfg, message())
		require.NoError(t, err)
	}
	require.Equal(t, 2, s.srv.Connections())
}

func TestPoolReconnectsOnceWhenDropped(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{})
	_, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(1))
	require.NoError(t, err)

	// The idle connection dies: the next MAIL on it is dropped.
	s.srv.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Action: smtptest.Drop, Times: 1})
	_, err = s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(2))
	require.NoError(t, err)
	require.Len(t, s.srv.Messages(), 2)
	require.Equal(t, 2, s.srv.Connections())

	// A server that closes idle clients with 421 is handled the same way.
	s.srv.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Code: 421, EnhancedCode: "4.4.2", Message: "Idle timeout", Times: 1})
	_, err = s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(3))
	require.NoError(t, err)
	require.Equal(t, 3, s.srv.Connections())

	// Only once: a second failure is the caller's to retry.
	s.srv.SetFault(smtptest.Fault{Stage: smtptest.StageMail, Action: smtptest.Drop, Times: 2})
	_, err = s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(4))
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, "MAIL", f.Step)
	require.Equal(t, outbox.CategoryConnection, f.Category)
	require.True(t, f.Temporary)
	require.Equal(t, 4, s.srv.Connections())
	require.Equal(t, 0, s.pool.IdleConns("tenant-a"), "a broken connection is not kept")
}

func TestPoolKeepsConnectionAfterRefusal(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{})
	s.srv.SetFault(smtptest.Fault{Stage: smtptest.StageRcpt, Code: 550, EnhancedCode: "5.1.1", Message: "No such user", Times: 1})
	_, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(1))
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.True(t, f.NoSuchUser)

	_, err = s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(2))
	require.NoError(t, err)
	require.Equal(t, 1, s.srv.Connections(), "RSET, not a new connection")
	require.Len(t, s.srv.Messages(), 1)
}

func TestPoolRedialsWhenSettingsChange(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{})
	_, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, message())
	require.NoError(t, err)

	changed := s.cfg
	changed.Auth = outbox.AuthLogin
	_, err = s.pool.Send(context.Background(), "tenant-a", changed, message())
	require.NoError(t, err)
	require.Equal(t, 2, s.srv.Connections())
	require.Equal(t, 1, s.pool.IdleConns("tenant-a"), "the old connection was closed")

	// Wrong credentials fail at AUTH and leave nothing behind.
	changed.Password = "wrong-password"
	_, err = s.pool.Send(context.Background(), "tenant-a", changed, message())
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, outbox.CategoryAuthFailed, f.Category)
	require.Equal(t, 0, s.pool.IdleConns("tenant-a"))
}

func TestPoolMaxMessagesPerConn(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{MaxMessagesPerConn: 2})
	for i := range 5 {
		_, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, numbered(i))
		require.NoError(t, err)
	}
	require.Equal(t, 3, s.srv.Connections())
}

func TestPoolIdleTimeout(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{IdleTimeout: 20 * time.Millisecond})
	_, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, message())
	require.NoError(t, err)
	// Poll with a deadline for the idle connection to be closed.
	require.Eventually(t, func() bool { return s.pool.IdleConns("tenant-a") == 0 }, 5*time.Second, 5*time.Millisecond)

	_, err = s.pool.Send(context.Background(), "tenant-a", s.cfg, message())
	require.NoError(t, err)
	require.Equal(t, 2, s.srv.Connections())
}

func TestPoolWaitsForAFreeConnection(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{MaxConnsPerAccount: 1})
	// The only connection hangs in DATA; a second send must wait for it
	// and give up when its context ends.
	s.srv.SetFault(smtptest.Fault{Stage: smtptest.StageData, Action: smtptest.Hang, Times: 1})
	busy := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := s.pool.Send(ctx, "tenant-a", s.cfg, numbered(1))
		busy <- err
	}()
	require.Eventually(t, func() bool { return s.srv.Count(smtptest.StageData) == 1 }, 5*time.Second, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.pool.Send(ctx, "tenant-a", s.cfg, numbered(2))
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, outbox.CategoryTimeout, f.Category)
	require.True(t, f.Temporary)
	require.Equal(t, 1, s.srv.Connections(), "the waiting send did not open a second connection")

	s.srv.Close() // ends the hung DATA
	require.Error(t, <-busy)
}

func TestPoolClose(t *testing.T) {
	t.Parallel()
	s := setupPool(t, transport.PoolConfig{})
	_, err := s.pool.Send(context.Background(), "tenant-a", s.cfg, message())
	require.NoError(t, err)
	require.NoError(t, s.pool.Close())
	require.Equal(t, 0, s.pool.IdleConns("tenant-a"))

	_, err = s.pool.Send(context.Background(), "tenant-a", s.cfg, message())
	var f *transport.Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, outbox.CategoryInternal, f.Category)
	require.Equal(t, 1, s.srv.Connections())
}
