//go:build unix

package pgserver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// osAccount is the OS user the PostgreSQL programs run as: the current user,
// or `postgres` when the current user is root, because PostgreSQL refuses to
// run as root.
type osAccount struct {
	switchUser bool
	uid, gid   int
}

func currentAccount() (osAccount, error) {
	if os.Geteuid() != 0 {
		return osAccount{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return osAccount{}, fmt.Errorf("running as root, which PostgreSQL refuses, and finding no `postgres` OS user to run it as (%w): create one (useradd --system postgres), run outbox as another user, or set DATABASE_URL", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return osAccount{}, fmt.Errorf("parsing uid of the postgres OS user: %w", err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return osAccount{}, fmt.Errorf("parsing gid of the postgres OS user: %w", err)
	}
	return osAccount{switchUser: true, uid: uid, gid: gid}, nil
}

// prepare makes cmd run as the account. The working directory is "/" because
// the caller's (say /root/project) may be unreadable to that account, and
// PostgreSQL programs fail when they cannot resolve their current directory.
func (a osAccount) prepare(cmd *exec.Cmd) {
	cmd.Dir = "/"
	if a.switchUser {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)},
		}
	}
}

// ids returns the uid and gid files of the server must have, -1 for the
// current user's.
func (a osAccount) ids() (uid, gid int) {
	if !a.switchUser {
		return -1, -1
	}
	return a.uid, a.gid
}

// own hands path to the account, when it is not the current user.
func (a osAccount) own(path string) error {
	if !a.switchUser {
		return nil
	}
	if err := os.Chown(path, a.uid, a.gid); err != nil {
		return fmt.Errorf("handing %s to the postgres OS user: %w", path, err)
	}
	return nil
}

// checkReachable reports an error when the account cannot search every
// parent directory of dir, which would make PostgreSQL fail with a bare
// "permission denied" deep in its log.
func (a osAccount) checkReachable(dir string) error {
	if !a.switchUser {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("checking access to %s: %w", p, err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			perm := fi.Mode().Perm()
			var search bool
			switch {
			case int(st.Uid) == a.uid:
				search = perm&0o100 != 0
			case int(st.Gid) == a.gid:
				search = perm&0o010 != 0
			default:
				search = perm&0o001 != 0
			}
			if !search {
				return fmt.Errorf("PostgreSQL runs as the postgres OS user, which cannot reach %s: %s (mode %s) is not searchable by it; use a directory it can reach or allow it (chmod o+x %s)", dir, p, perm, p)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// processAlive reports whether pid names a live process. A zombie, which
// still answers signals, counts as dead.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no procfs: trust the signal
	}
	// "pid (comm) S ...": the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// processDir returns the working directory of pid, which for a postmaster is
// its data directory; ok is false when the system cannot tell.
func processDir(pid int) (dir string, ok bool) {
	dir, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	return dir, err == nil
}

// quit asks a postmaster for an immediate shutdown.
func quit(pid int) error {
	return syscall.Kill(pid, syscall.SIGQUIT)
}

// ownerLocks reports that tryLock really locks, so that a free lock means
// the owner is gone.
const ownerLocks = true

// tryLock takes an exclusive flock on f without waiting; errLocked when
// another open file holds it. The kernel drops it when f's process exits.
func tryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
