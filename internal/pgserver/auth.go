package pgserver

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// passwordLen is the length of the generated superuser password: 24
	// random bytes in unpadded URL-safe base64, which a URL carries as is.
	passwordLen = 32
	// scramIterations is PostgreSQL's own default for SCRAM-SHA-256.
	scramIterations = 4096
	hbaFileName     = "pg_hba.conf"
)

// hbaConf is the whole of the server's pg_hba.conf, written at every start
// so that data directories made by earlier versions, which trusted every
// local user on loopback, are upgraded too. The Unix socket lives in a
// directory only the server's OS account (and root) can enter; TCP, which
// listens on loopback only, needs the generated password.
const hbaConf = `# Written by outbox at every start of its private PostgreSQL; edits are lost.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
host    all       all       127.0.0.1/32   scram-sha-256
host    all       all       ::1/128        scram-sha-256
`

// passwordFile is where the superuser's password is kept: beside the data
// directory, readable only by the user running outbox.
func passwordFile(dataDir string) string { return dataDir + ".password" }

// loadPassword returns the superuser password kept beside dataDir,
// generating and storing one when there is none (or only a torn one) yet.
func loadPassword(dataDir string) (string, error) {
	path := passwordFile(dataDir)
	b, err := os.ReadFile(path)
	if err == nil {
		if pw := strings.TrimSpace(string(b)); len(pw) == passwordLen {
			return pw, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading the PostgreSQL password: %w", err)
	}

	raw := make([]byte, passwordLen*3/4)
	rand.Read(raw)
	pw := base64.RawURLEncoding.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(pw+"\n"), -1, -1); err != nil {
		return "", fmt.Errorf("storing the PostgreSQL password: %w", err)
	}
	return pw, nil
}

// writeHBA replaces pg_hba.conf with hbaConf unless it holds that already.
func writeHBA(dataDir string, acct osAccount) error {
	path := filepath.Join(dataDir, hbaFileName)
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, []byte(hbaConf)) {
		return nil
	}
	uid, gid := acct.ids()
	if err := writeFileAtomic(path, []byte(hbaConf), uid, gid); err != nil {
		return fmt.Errorf("writing %s: %w", hbaFileName, err)
	}
	return nil
}

// writeFileAtomic writes a 0600 file through a temporary one, so that a
// crash leaves the old content or the new, handing it to uid:gid unless -1.
func writeFileAtomic(path string, data []byte, uid, gid int) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil && uid >= 0 {
		err = os.Chown(f.Name(), uid, gid)
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// scramVerifier returns what PostgreSQL stores for password under
// SCRAM-SHA-256 (RFC 5802, RFC 7677), so that ALTER ROLE never carries the
// password itself, not even into the server log of a failed statement. The
// password is ASCII, which SASLprep leaves as it is.
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("deriving the SCRAM key: %w", err)
	}
	mac := func(msg string) []byte {
		h := hmac.New(sha256.New, salted)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac("Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(scramIterations) + ":" + b64(salt) + "$" + b64(stored[:]) + ":" + b64(mac("Server Key")), nil
}
