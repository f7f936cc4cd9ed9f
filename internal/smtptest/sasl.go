package smtptest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The server sides of the SASL mechanisms go-sasl does not provide. Each
// fails with go-smtp's 535 5.7.8 on wrong credentials, as real servers do.

// credentials are the one user name and password a test server accepts.
type credentials struct {
	username, password, domain string
}

func (c credentials) check(username, password string) bool {
	u := subtle.ConstantTimeCompare([]byte(username), []byte(c.username))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(c.password))
	return u&p == 1
}

// loginServer implements LOGIN (draft-murchison-sasl-login): the server asks
// "Username:" then "Password:", each answered in base64. A client may send the
// user name as the initial response.
type loginServer struct {
	creds    credentials
	login    func(user string)
	step     int
	username string
}

func (a *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch a.step {
	case 0:
		a.step++
		if response == nil {
			return []byte("Username:"), false, nil
		}
		a.step++
		a.username = string(response)
		return []byte("Password:"), false, nil
	case 1:
		a.step++
		a.username = string(response)
		return []byte("Password:"), false, nil
	case 2:
		a.step++
		if !a.creds.check(a.username, string(response)) {
			return nil, true, smtp.ErrAuthFailed
		}
		a.login(a.username)
		return nil, true, nil
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// cramMD5Server implements CRAM-MD5 (RFC 2195): the server sends a unique
// challenge and the client answers "user hex(HMAC-MD5(password, challenge))".
type cramMD5Server struct {
	creds     credentials
	login     func(user string)
	challenge []byte
}

func (a *cramMD5Server) Next(response []byte) ([]byte, bool, error) {
	if a.challenge == nil {
		if response != nil {
			// CRAM-MD5 has no initial response.
			return nil, true, sasl.ErrUnexpectedClientResponse
		}
		a.challenge = []byte(fmt.Sprintf("<%s.%d@%s>", rand.Text(), time.Now().UnixNano(), a.creds.domain))
		return a.challenge, false, nil
	}
	sep := bytes.LastIndexByte(response, ' ')
	if sep < 0 {
		return nil, true, smtp.ErrAuthFailed
	}
	username, digest := string(response[:sep]), response[sep+1:]
	mac := hmac.New(md5.New, []byte(a.creds.password))
	mac.Write(a.challenge)
	want := []byte(hex.EncodeToString(mac.Sum(nil)))
	userOK := subtle.ConstantTimeCompare([]byte(username), []byte(a.creds.username))
	if userOK&subtle.ConstantTimeCompare(bytes.ToLower(digest), want) != 1 {
		return nil, true, smtp.ErrAuthFailed
	}
	a.login(username)
	return nil, true, nil
}

// xoauth2Server implements Google's XOAUTH2: the client sends
// "user={user}^Aauth=Bearer {token}^A^A"; on a bad token the server sends a
// JSON error as a challenge, the client answers with an empty line, and the
// server then fails with 535.
type xoauth2Server struct {
	creds credentials
	// check, when set, replaces creds (Options.CheckBearer).
	check  func(user, token string) bool
	login  func(user string)
	failed bool
}

// xoauth2Error is the challenge Gmail sends for an invalid token.
const xoauth2Error = `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`

func (a *xoauth2Server) Next(response []byte) ([]byte, bool, error) {
	if a.failed {
		return nil, true, smtp.ErrAuthFailed
	}
	if response == nil {
		// Ask for the initial response the client did not send.
		return []byte{}, false, nil
	}
	user, token, ok := parseXOAuth2(response)
	valid := a.creds.check
	if a.check != nil {
		valid = a.check
	}
	if !ok || !valid(user, token) {
		a.failed = true
		return []byte(xoauth2Error), false, nil
	}
	a.login(user)
	return nil, true, nil
}

func parseXOAuth2(b []byte) (user, token string, ok bool) {
	var gotUser, gotToken bool
	for _, field := range bytes.Split(b, []byte{1}) {
		switch {
		case bytes.HasPrefix(field, []byte("user=")):
			user, gotUser = string(field[len("user="):]), true
		case bytes.HasPrefix(field, []byte("auth=Bearer ")):
			token, gotToken = string(field[len("auth=Bearer "):]), true
		}
	}
	return user, token, gotUser && gotToken
}
