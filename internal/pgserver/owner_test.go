//go:build unix

package pgserver

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ownerDataDirEnv makes TestOwnerProcess play the owning process of a
// server: the outbox process that a test then kills with SIGKILL.
const ownerDataDirEnv = "PGSERVER_TEST_OWNER_DATA_DIR"

// TestOwnerProcess is not a test of its own: run by startOwner in a child
// process, it starts a server on the data directory the environment names,
// reports it on stdout and holds it until stdin closes or it is killed.
func TestOwnerProcess(t *testing.T) {
	dataDir := os.Getenv(ownerDataDirEnv)
	if dataDir == "" {
		t.Skip("helper process of TestStartRecoversServerOfKilledOwner")
	}
	s, err := Start(t.Context(), Options{DataDir: dataDir, Fsync: true})
	require.NoError(t, err)
	defer s.Stop(context.Background())
	os.Stdout.WriteString("READY " + strconv.Itoa(s.PID()) + " " + s.URL() + "\n")
	io.Copy(io.Discard, os.Stdin)
}

type owner struct {
	cmd   *exec.Cmd
	pgPID int
	url   string
}

// startOwner runs TestOwnerProcess in a child process on dataDir and waits
// until its server is up. Cleanup kills the child and, should a test fail
// before reclaiming it, the server it left.
func startOwner(t *testing.T, dataDir string) *owner {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOwnerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), ownerDataDirEnv+"="+dataDir)
	cmd.Stderr = t.Output()
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	o := &owner{cmd: cmd}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		if pid, _, _ := holder(dataDir); pid != 0 && pid == o.pgPID {
			quit(pid)
			waitExit(context.Background(), pid)
		}
	})

	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) == 3 && fields[0] == "READY" {
			o.pgPID, err = strconv.Atoi(fields[1])
			require.NoError(t, err)
			o.url = fields[2]
			go io.Copy(io.Discard, stdout)
			return o
		}
	}
	t.Fatalf("owner process exited before its server was ready: %v", lines.Err())
	return nil
}

func TestStartRecoversServerOfKilledOwner(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dataDir := newDataDir(t)
	o := startOwner(t, dataDir)
	_, err := connect(t, o.url).Exec(ctx, "CREATE TABLE notes (body text NOT NULL); INSERT INTO notes VALUES ('kept')")
	require.NoError(t, err)

	_, err = Start(ctx, Options{DataDir: dataDir, Fsync: true})
	require.ErrorIs(t, err, ErrDataDirInUse, "a live owner keeps its server")
	require.ErrorContains(t, err, "outbox process (PID "+strconv.Itoa(o.cmd.Process.Pid)+")")
	require.NoError(t, connect(t, o.url).Ping(ctx), "the live owner's server is untouched")

	require.NoError(t, o.cmd.Process.Kill())
	o.cmd.Wait()
	require.True(t, processAlive(o.pgPID), "the postmaster outlives its owner")
	orphanSocketDir := pidFileLine(dataDir, 5)
	require.DirExists(t, orphanSocketDir)

	s := start(t, Options{DataDir: dataDir, Fsync: true})
	require.NotEqual(t, o.pgPID, s.PID())
	require.False(t, processAlive(o.pgPID), "the orphaned postmaster was stopped")
	require.NoDirExists(t, orphanSocketDir, "the dead owner's socket directory is removed")
	var body string
	require.NoError(t, connect(t, s.URL()).QueryRow(ctx, "SELECT body FROM notes").Scan(&body))
	require.Equal(t, "kept", body)
}

func TestStartRefusesServerItDidNotStart(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	opts := Options{DataDir: newDataDir(t)}
	s, err := Start(ctx, opts)
	require.NoError(t, err)
	require.NoError(t, s.Stop(ctx))

	// An operator starts the server by hand, without outbox.
	acct, err := currentAccount()
	require.NoError(t, err)
	sockDir, err := makePrivateDir(acct, "pgserver-test-sock-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	cmd := exec.Command(filepath.Join(s.binDir, "pg_ctl"), "start", "-w", "-s", "-D", s.DataDir(), "-l", filepath.Join(sockDir, "log"),
		"-o", "-c listen_addresses='' -c unix_socket_directories="+sockDir)
	cmd.Env = cleanEnv()
	acct.prepare(cmd)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	manual, _, err := holder(s.DataDir())
	require.NoError(t, err)
	require.NotZero(t, manual)
	t.Cleanup(func() {
		quit(manual)
		waitExit(context.Background(), manual)
	})

	_, err = Start(ctx, opts)
	require.ErrorIs(t, err, ErrDataDirInUse)
	require.ErrorContains(t, err, strconv.Itoa(manual))
	require.True(t, processAlive(manual), "a server outbox did not start is left running")
}
