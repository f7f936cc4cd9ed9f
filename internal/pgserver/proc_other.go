//go:build !unix

package pgserver

import (
	"errors"
	"os"
	"os/exec"
)

// osAccount is the OS user the PostgreSQL programs run as; outside Unix it is
// always the current user.
type osAccount struct{}

func currentAccount() (osAccount, error) { return osAccount{}, nil }

func (osAccount) prepare(*exec.Cmd) {}

func (osAccount) own(string) error { return nil }

func (osAccount) ids() (uid, gid int) { return -1, -1 }

func (osAccount) checkReachable(string) error { return nil }

// processAlive cannot tell here, so it answers the cautious "yes": a
// postmaster.pid is then never taken for stale.
func processAlive(pid int) bool { return pid > 0 }

func processDir(int) (string, bool) { return "", false }

func quit(int) error { return errors.New("signalling a postmaster is not supported on this system") }

// ownerLocks is false here: tryLock cannot lock, so a server whose owner
// died is never taken for an orphan and stopped.
const ownerLocks = false

func tryLock(*os.File) error { return nil }
