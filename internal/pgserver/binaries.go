package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrNotInstalled is returned by Start when no PostgreSQL server binaries can
// be found. Its message tells the user what to install.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql/*/bin: install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL")

// requiredPrograms must all live in one directory: pg_ctl starts the postgres
// found next to itself.
var requiredPrograms = []string{"initdb", "pg_ctl", "postgres"}

// locator finds the directory holding the PostgreSQL server programs. Its
// fields exist so tests can describe a machine without relying on this one.
type locator struct {
	// lookPath resolves a program name through PATH, like exec.LookPath.
	lookPath func(file string) (string, error)
	// installRoot holds one directory per installed major version, each with
	// a bin directory: the Debian and Ubuntu layout.
	installRoot string
}

func defaultLocator() locator {
	return locator{lookPath: exec.LookPath, installRoot: "/usr/lib/postgresql"}
}

// find returns the directory of the server programs: binDir when set and
// complete, else the directory of pg_ctl found in PATH, else the highest
// version under installRoot; a version equal to preferMajor (the version that
// created an existing data directory) wins over a higher one there.
func (l locator) find(binDir, preferMajor string, logger *slog.Logger) (string, error) {
	if binDir != "" {
		if hasPrograms(binDir) {
			return binDir, nil
		}
		logger.Warn("configured PostgreSQL bin directory lacks initdb, pg_ctl or postgres; searching PATH and the installation root", "bin_dir", binDir)
	}
	if p, err := l.lookPath("pg_ctl"); err == nil {
		if dir := filepath.Dir(p); hasPrograms(dir) {
			return dir, nil
		}
	}
	candidates, err := filepath.Glob(filepath.Join(l.installRoot, "*", "bin"))
	if err != nil {
		return "", fmt.Errorf("listing PostgreSQL installations: %w", err)
	}
	type install struct {
		dir     string
		name    string
		version []int
	}
	var installs []install
	for _, dir := range candidates {
		name := filepath.Base(filepath.Dir(dir))
		v, ok := parseVersion(name)
		if !ok || !hasPrograms(dir) {
			continue
		}
		installs = append(installs, install{dir: dir, name: name, version: v})
	}
	if len(installs) == 0 {
		return "", ErrNotInstalled
	}
	if i := slices.IndexFunc(installs, func(in install) bool { return in.name == preferMajor }); i >= 0 {
		return installs[i].dir, nil
	}
	best := slices.MaxFunc(installs, func(a, b install) int { return slices.Compare(a.version, b.version) })
	return best.dir, nil
}

func hasPrograms(dir string) bool {
	for _, name := range requiredPrograms {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// parseVersion turns "15" or "9.6" into comparable numbers.
func parseVersion(s string) ([]int, bool) {
	var v []int
	for part := range strings.SplitSeq(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		v = append(v, n)
	}
	return v, len(v) > 0
}

// majorVersion asks pg_ctl for its version and returns the major version in
// the form PG_VERSION files use: "15", or "9.6" before PostgreSQL 10.
func majorVersion(ctx context.Context, binDir string) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "pg_ctl"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("asking pg_ctl for its version: %w", err)
	}
	// "pg_ctl (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)"
	_, rest, ok := strings.Cut(string(out), "(PostgreSQL) ")
	fields := strings.Fields(rest)
	if !ok || len(fields) == 0 {
		return "", fmt.Errorf("unexpected pg_ctl version output %q", strings.TrimSpace(string(out)))
	}
	// Splitting at every non-digit also copes with "17beta1" or "16rc1".
	parts := strings.FieldsFunc(fields[0], func(r rune) bool { return r < '0' || r > '9' })
	if len(parts) == 0 {
		return "", fmt.Errorf("unexpected pg_ctl version output %q", strings.TrimSpace(string(out)))
	}
	if major, _ := strconv.Atoi(parts[0]); major < 10 && len(parts) > 1 {
		return parts[0] + "." + parts[1], nil
	}
	return parts[0], nil
}
