//go:build unix

package pgserver

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeInstall creates dir holding the given programs as empty executables.
func fakeInstall(t *testing.T, dir string, programs ...string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, p := range programs {
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), nil, 0o755))
	}
	return dir
}

func TestLocatorFind(t *testing.T) {
	t.Parallel()
	all := requiredPrograms

	type machine struct {
		binDir      string // "" or a directory under the test's root
		binDirFull  bool
		pathDir     string // where PATH finds pg_ctl; "" for nowhere
		pathDirFull bool
		versions    map[string]bool // installRoot/<version>/bin: complete or not
	}
	tests := []struct {
		name    string
		machine machine
		prefer  string
		want    string // relative to the test's root
		wantErr error
	}{
		{
			name:    "BinDir first",
			machine: machine{binDir: "custom", binDirFull: true, pathDir: "usr/bin", pathDirFull: true, versions: map[string]bool{"15": true}},
			want:    "custom",
		},
		{
			name:    "PATH when BinDir lacks programs",
			machine: machine{binDir: "custom", pathDir: "usr/bin", pathDirFull: true, versions: map[string]bool{"15": true}},
			want:    "usr/bin",
		},
		{
			name:    "pg_ctl in PATH without initdb beside it is skipped",
			machine: machine{pathDir: "usr/bin", versions: map[string]bool{"15": true}},
			want:    "root/15/bin",
		},
		{
			name:    "highest version, compared as numbers",
			machine: machine{versions: map[string]bool{"9.6": true, "10": true, "15": true, "common": true}},
			want:    "root/15/bin",
		},
		{
			name:    "incomplete installs are skipped",
			machine: machine{versions: map[string]bool{"10": true, "16": false}},
			want:    "root/10/bin",
		},
		{
			name:    "the version of an existing data directory wins",
			machine: machine{versions: map[string]bool{"13": true, "15": true}},
			prefer:  "13",
			want:    "root/13/bin",
		},
		{
			name:    "nothing installed",
			machine: machine{binDir: "custom", versions: map[string]bool{"16": false}},
			wantErr: ErrNotInstalled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			m := tt.machine
			var binDir string
			if m.binDir != "" {
				binDir = filepath.Join(root, m.binDir)
				if m.binDirFull {
					fakeInstall(t, binDir, all...)
				} else {
					fakeInstall(t, binDir, "pg_ctl")
				}
			}
			lookPath := func(string) (string, error) { return "", exec.ErrNotFound }
			if m.pathDir != "" {
				dir := filepath.Join(root, m.pathDir)
				if m.pathDirFull {
					fakeInstall(t, dir, all...)
				} else {
					fakeInstall(t, dir, "pg_ctl")
				}
				lookPath = func(file string) (string, error) { return filepath.Join(dir, file), nil }
			}
			for v, complete := range m.versions {
				dir := filepath.Join(root, "root", v, "bin")
				if complete {
					fakeInstall(t, dir, all...)
				} else {
					fakeInstall(t, dir, "pg_ctl", "postgres")
				}
			}

			loc := locator{lookPath: lookPath, installRoot: filepath.Join(root, "root")}
			got, err := loc.find(binDir, tt.prefer, slog.New(slog.DiscardHandler))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, filepath.Join(root, tt.want), got)
		})
	}
}

// TestMajorVersion runs alone (not parallel): exec of a script this process
// has just written fails with "text file busy" while another test forks and
// the child still holds the written file open (golang/go#22315).
func TestMajorVersion(t *testing.T) {
	for output, want := range map[string]string{
		"pg_ctl (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)": "15",
		"pg_ctl (PostgreSQL) 17beta1":                        "17",
		"pg_ctl (PostgreSQL) 9.6.24":                         "9.6",
	} {
		dir := t.TempDir()
		script := "#!/bin/sh\necho '" + output + "'\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pg_ctl"), []byte(script), 0o755))
		got, err := majorVersion(context.Background(), dir)
		require.NoError(t, err)
		require.Equal(t, want, got, output)
	}
}
