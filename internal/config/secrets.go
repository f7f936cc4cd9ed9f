package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files in the data directory that keep generated development secrets.
const (
	jwtSecretFile = "jwt-secret"
	secretKeyFile = "secret-key"
)

// FillDevSecrets fills JWTSecret and SecretKey, when empty, from files in
// DataDir, generating them (mode 0600) on first use, so that `serve` and
// `token` agree across restarts. It does nothing in production, where
// Validate reports missing secrets instead.
func (c *Config) FillDevSecrets() error {
	if c.Production() {
		return nil
	}
	// 0711: the postgres OS user, which runs the private database when we
	// are root, must traverse it; nobody else may list it, and the secret
	// files themselves are 0600.
	if err := os.MkdirAll(c.DataDir, 0o711); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	return c.devSecrets(loadOrCreate)
}

// ReadDevSecrets fills JWTSecret and SecretKey, when empty, from the files
// FillDevSecrets keeps in DataDir, creating nothing: a secret whose file is
// absent (or whose DataDir does not exist) stays empty, for the caller to
// explain. It does nothing in production. It returns an error only when a
// file exists but cannot be read.
func (c *Config) ReadDevSecrets() error {
	if c.Production() {
		return nil
	}
	return c.devSecrets(func(path string, _ func([]byte) string) (string, error) {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", path, err)
		}
		return strings.TrimSpace(string(b)), nil
	})
}

// devSecrets fills the empty development secrets through get, which
// returns the secret kept in the file at path (encode turns fresh random
// bytes into one).
func (c *Config) devSecrets(get func(path string, encode func([]byte) string) (string, error)) error {
	if c.JWTSecret == "" && c.JWTJWKSFile == "" {
		s, err := get(filepath.Join(c.DataDir, jwtSecretFile), func(b []byte) string {
			return base64.RawURLEncoding.EncodeToString(b)
		})
		if err != nil {
			return fmt.Errorf("OUTBOX_JWT_SECRET: %w", err)
		}
		c.JWTSecret = s
	}
	if c.SecretKey == "" {
		s, err := get(filepath.Join(c.DataDir, secretKeyFile), func(b []byte) string {
			return "dev1:" + base64.StdEncoding.EncodeToString(b)
		})
		if err != nil {
			return fmt.Errorf("OUTBOX_SECRET_KEY: %w", err)
		}
		c.SecretKey = s
	}
	return nil
}

func loadOrCreate(path string, encode func([]byte) string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generating secret: %w", err)
	}
	s := encode(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race: use its secret
		return loadOrCreate(path, encode)
	}
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", path, err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return s, nil
}

// Load binds the settings to fs (which may already hold a command's own
// flags), parses args and the environment, validates the result and fills
// development secrets, creating them on first use.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, error) {
	c, err := Parse(fs, args, getenv)
	if err != nil {
		return nil, err
	}
	if err := c.FillDevSecrets(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse is Load without the development secrets: it binds the settings to
// fs, parses args and the environment and validates the result, but neither
// reads nor creates anything in DataDir. A command that must use the
// secrets of an existing data directory, and never make new ones, calls
// ReadDevSecrets next.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	envErrs := Bind(fs, c, getenv)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := envErrs(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// FromEnv loads the configuration from the environment alone, for commands
// whose flags mean something else (`outbox token --role`).
func FromEnv(getenv func(string) string) (*Config, error) {
	return Load(flag.NewFlagSet("env", flag.ContinueOnError), nil, getenv)
}
