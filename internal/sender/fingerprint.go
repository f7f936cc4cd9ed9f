package sender

import (
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/outbox/outbox/internal/secret"
)

// fingerprintVersion names the encoding and is the MAC's purpose. Change it
// whenever the encoding changes, so that a fingerprint taken by an older
// build never matches one taken by a newer build by accident.
const fingerprintVersion = "outbox/sender-settings/v3"

// Fingerprint returns "<key id>:<hex HMAC-SHA256>" of everything in s that
// affects how mail is sent: the mode, the identity fields, the BCC list in
// order, and every field of the smtp and http blocks, secrets and limits
// included, keyed by keyring's current key (see secret.Keyring.NewMAC). Two
// Settings that differ in any of those give different fingerprints, equal
// ones give equal fingerprints under the same key. saveSenderSettings
// compares the fingerprint of the draft with that of the settings a test
// passed with.
//
// Because the digest covers the password it is keyed: a database dump alone
// is no oracle for guessing the password. Still store it server-side only.
// Call it on normalized settings (see Settings.Normalize), so that spellings
// of the same choice agree.
func Fingerprint(keyring *secret.Keyring, s Settings) string {
	fp, err := fingerprintWith(keyring, keyring.CurrentKeyID(), s)
	if err != nil {
		panic(err) // the current key is always in the keyring
	}
	return fp
}

// FingerprintMatches reports whether fp is the fingerprint of s under the
// key fp names, which may be an older key of keyring (a rotation in
// between). It is false for a key no longer configured and for a malformed
// fingerprint, such as one taken by an older build.
func FingerprintMatches(keyring *secret.Keyring, s Settings, fp string) bool {
	keyID, _, ok := strings.Cut(fp, ":")
	if !ok {
		return false
	}
	want, err := fingerprintWith(keyring, keyID, s)
	return err == nil && hmac.Equal([]byte(want), []byte(fp))
}

func fingerprintWith(keyring *secret.Keyring, keyID string, s Settings) (string, error) {
	mac, err := keyring.NewMAC(keyID, fingerprintVersion)
	if err != nil {
		return "", fmt.Errorf("fingerprinting settings: %w", err)
	}
	writeFingerprint(&fingerprinter{h: mac}, s)
	return keyID + ":" + hex.EncodeToString(mac.Sum(nil)), nil
}

// writeFingerprint writes the canonical encoding of s to w.
func writeFingerprint(w *fingerprinter, s Settings) {
	w.field("mode", string(s.Mode))
	w.field("fromName", s.FromName)
	w.field("fromEmail", s.FromEmail)
	w.field("replyTo", s.ReplyTo)
	w.field("contactEmail", s.ContactEmail)
	w.list("bcc", s.BCC)
	w.field("archiveCopyTo", s.ArchiveCopyTo)

	w.present("smtp", s.SMTP != nil)
	if c := s.SMTP; c != nil {
		w.field("smtp.preset", c.Preset)
		w.field("smtp.host", c.Host)
		w.num("smtp.port", c.Port)
		w.field("smtp.security", string(c.Security))
		w.field("smtp.auth", string(c.Auth))
		w.field("smtp.username", c.Username)
		w.field("smtp.password", c.Password)
		w.present("smtp.skipTlsVerify", c.SkipTLSVerify)
		w.field("smtp.oauthConnection", c.OAuthConnection)
		w.limits("smtp.limits", c.Limits)
	}

	w.present("http", s.HTTP != nil)
	if c := s.HTTP; c != nil {
		if !c.IsGeneric() || c.Domain != "" || c.Region != "" || c.AccessKeyID != "" {
			// Left out for GENERIC settings (Normalize clears these
			// fields there), so that their fingerprints stay what they
			// were before providers; the name keeps it unambiguous.
			w.field("http.provider", string(c.Provider))
			w.field("http.domain", c.Domain)
			w.field("http.region", c.Region)
			w.field("http.accessKeyId", c.AccessKeyID)
		}
		w.field("http.url", c.URL)
		w.field("http.authHeader", c.AuthHeader)
		w.field("http.authValue", c.AuthValue)
		w.limits("http.limits", c.Limits)
	}
}

// fingerprinter writes the canonical encoding: a sequence of strings, each
// preceded by its length as 8 bytes big-endian, so that no two different
// sequences encode to the same bytes. Every value is preceded by its name, so
// that a field moved or added changes the encoding rather than shifting values
// into another field's place.
type fingerprinter struct {
	h hash.Hash
}

func (w *fingerprinter) str(s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	w.h.Write(n[:])
	w.h.Write([]byte(s))
}

func (w *fingerprinter) field(name, value string) {
	w.str(name)
	w.str(value)
}

func (w *fingerprinter) num(name string, n int) {
	w.field(name, strconv.Itoa(n))
}

func (w *fingerprinter) present(name string, b bool) {
	w.field(name, strconv.FormatBool(b))
}

func (w *fingerprinter) list(name string, values []string) {
	w.num(name, len(values))
	for _, v := range values {
		w.str(v)
	}
}

func (w *fingerprinter) limits(prefix string, l Limits) {
	for _, f := range limitFields(&l) {
		w.num(prefix+"."+f.name, *f.value)
	}
}
