package sender

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
)

// fingerprintVersion starts every encoding. Change it whenever the encoding
// changes, so that a fingerprint taken by an older build never matches one
// taken by a newer build by accident.
const fingerprintVersion = "outbox/sender-settings/v1"

// Fingerprint returns a hex SHA-256 digest of everything in s that affects
// how mail is sent: the mode, the identity fields, the BCC list in order, and
// every field of the smtp and http blocks, secrets and limits included. Two
// Settings that differ in any of those give different fingerprints, equal ones
// give equal fingerprints. saveSenderSettings compares the fingerprint of the
// draft with that of the settings a test passed with.
//
// Call it on normalized settings (see Settings.Normalize), so that spellings
// of the same choice agree. Because the digest covers the password, treat it
// like a password hash: store it server-side only and never return it.
func Fingerprint(s Settings) string {
	w := fingerprinter{h: sha256.New()}
	w.str(fingerprintVersion)

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
		w.limits("smtp.limits", c.Limits)
	}

	w.present("http", s.HTTP != nil)
	if c := s.HTTP; c != nil {
		w.field("http.url", c.URL)
		w.field("http.authHeader", c.AuthHeader)
		w.field("http.authValue", c.AuthValue)
		w.limits("http.limits", c.Limits)
	}
	return hex.EncodeToString(w.h.Sum(nil))
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
