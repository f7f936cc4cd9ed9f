package domains

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// KeyBits is the size of every DKIM key Outbox makes.
const KeyBits = 2048

// newKey returns a fresh RSA key in PKCS #8 DER and a selector for it.
func newKey() (der []byte, selector string, err error) {
	k, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, "", fmt.Errorf("generating a DKIM key: %w", err)
	}
	der, err = x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, "", fmt.Errorf("encoding a DKIM key: %w", err)
	}
	var b [4]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return nil, "", fmt.Errorf("choosing a DKIM selector: %w", err)
	}
	return der, "ob" + hex.EncodeToString(b[:]), nil
}

// parseKey returns the signer of a PKCS #8 DER RSA key.
func parseKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("decoding a DKIM key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("decoding a DKIM key: not an RSA key")
	}
	return rk, nil
}

// publicValue is the p= of key: its SubjectPublicKeyInfo in base64.
func publicValue(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", fmt.Errorf("encoding a DKIM public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// dkimValue is the TXT value of the DKIM record of a key with public p.
func dkimValue(p string) string { return "v=DKIM1; k=rsa; p=" + p }

// SignedHeaders are the header fields a signature covers, each when the
// message has it.
var SignedHeaders = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"List-Unsubscribe", "List-Unsubscribe-Post",
}

// Signer signs mail with one DKIM key as d=Domain, s=Selector,
// relaxed/relaxed, over SignedHeaders. It is safe for concurrent use.
type Signer struct {
	Domain, Selector string
	key              crypto.Signer
}

// NewSigner returns the signer of an RSA or Ed25519 key given as a PEM
// block (PKCS #8, or PKCS #1 for RSA). It fails when the PEM does not hold
// such a key.
func NewSigner(domain, selector string, pemData []byte) (*Signer, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var k any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding the private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("the key cannot sign")
	}
	return &Signer{Domain: domain, Selector: selector, key: s}, nil
}

// LoadSigner is NewSigner with the PEM read from file path.
func LoadSigner(domain, selector, path string) (*Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the DKIM key: %w", err)
	}
	s, err := NewSigner(domain, selector, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Sign returns raw (an RFC 5322 message with CRLF line endings) with a
// DKIM-Signature field in front. It fails when raw has no From field or the
// key does not sign.
func (s *Signer) Sign(raw []byte) ([]byte, error) {
	present, err := presentHeaders(raw)
	if err != nil {
		return nil, err
	}
	opts := &dkim.SignOptions{
		Domain: s.Domain, Selector: s.Selector, Signer: s.key, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	}
	for _, h := range SignedHeaders {
		if present[textproto.CanonicalMIMEHeaderKey(h)] {
			opts.HeaderKeys = append(opts.HeaderKeys, h)
		}
	}
	if !present["From"] {
		return nil, errors.New("signing a message without From")
	}
	var out bytes.Buffer
	if err := dkim.Sign(&out, bytes.NewReader(raw), opts); err != nil {
		return nil, fmt.Errorf("signing with DKIM: %w", err)
	}
	return out.Bytes(), nil
}

// presentHeaders returns the (canonical) names of raw's header fields.
func presentHeaders(raw []byte) (map[string]bool, error) {
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return nil, fmt.Errorf("reading the message header: %w", err)
	}
	out := make(map[string]bool, len(h))
	for name := range h {
		out[strings.TrimSpace(name)] = true
	}
	return out, nil
}
