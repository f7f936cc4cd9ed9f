package mailapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sesErrorType is the X-Amzn-ErrorType SESv2 answers a status with.
func sesErrorType(status int) string {
	switch status {
	case http.StatusForbidden:
		return "UnrecognizedClientException"
	case http.StatusNotFound:
		return "NotFoundException"
	case http.StatusTooManyRequests:
		return "TooManyRequestsException"
	case http.StatusBadRequest:
		return "BadRequestException"
	default:
		return "InternalFailure"
	}
}

// ses follows the SESv2 SendEmail reference
// (docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html):
// POST /v2/email/outbound-emails, restJson1, SigV4 for the service "ses"
// in the account's region; the raw message is parsed like a receiving MTA
// would, and a Bcc header in it is refused (it would show the blind copies).
func (s *Server) ses(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v2/email/outbound-emails" || r.Method != http.MethodPost {
		s.fail(w, http.StatusNotFound, "Not found")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 40<<20))
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if p := s.checkSignature(r, body); p != "" {
		w.Header().Set("X-Amzn-ErrorType", "InvalidSignatureException")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"message":"`+p+`"}`)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	var in struct {
		FromEmailAddress string
		Destination      *struct{ ToAddresses, CcAddresses, BccAddresses []string }
		Content          struct {
			Raw *struct{ Data []byte }
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := decodeStrict(r, &in); err != nil {
		s.fail(w, http.StatusBadRequest, "Could not parse the request: "+err.Error())
		return
	}
	m := Mail{Headers: map[string]string{}, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	problem := firstProblem(
		func() string {
			if in.Content.Raw == nil || len(in.Content.Raw.Data) == 0 {
				return "Content.Raw.Data is required here"
			}
			if in.Destination == nil {
				return "Destination is required: the raw message has no Bcc header"
			}
			m.To, m.Cc, m.Bcc = in.Destination.ToAddresses, in.Destination.CcAddresses, in.Destination.BccAddresses
			if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 || len(m.To)+len(m.Cc)+len(m.Bcc) > 50 {
				return "Destination must have between 1 and 50 recipients"
			}
			for _, a := range append(append(append([]string{}, m.To...), m.Cc...), m.Bcc...) {
				if !isAddress(a) {
					return "Illegal address: " + a
				}
			}
			return ""
		},
		func() string { return parseRaw(in.Content.Raw.Data, in.FromEmailAddress, &m) },
	)
	if problem != "" {
		w.Header().Set("X-Amzn-ErrorType", "MessageRejected")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"`+strings.ReplaceAll(problem, `"`, `'`)+`"}`)
		return
	}
	if id := s.accept(w, m); id != "" {
		writeJSON(w, http.StatusOK, map[string]string{"MessageId": id})
	}
}

// checkSignature recomputes the request's SigV4 signature with the AWS
// SDK's signer over the headers it says it signed, and compares.
func (s *Server) checkSignature(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "Missing Authentication Token"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	date := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return "X-Amz-Date is missing or malformed"
	}
	scope := s.opts.AccessKeyID + "/" + date[:8] + "/" + s.opts.Region + "/ses/aws4_request"
	if fields["Credential"] != scope {
		return "Credential should be scoped to " + s.opts.Region + "/ses for " + s.opts.AccessKeyID
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != "" && got != hash {
		return "The provided x-amz-content-sha256 header does not match what was computed."
	}
	clone, _ := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	for _, name := range strings.Split(fields["SignedHeaders"], ";") {
		if name == "host" {
			continue
		}
		for _, v := range r.Header.Values(name) {
			clone.Header.Add(name, v)
		}
	}
	if strings.Contains(";"+fields["SignedHeaders"]+";", ";content-length;") {
		clone.ContentLength = r.ContentLength
	}
	creds := aws.Credentials{AccessKeyID: s.opts.AccessKeyID, SecretAccessKey: s.opts.Key}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, clone, hash, "ses", s.opts.Region, at); err != nil {
		return "signing: " + err.Error()
	}
	if clone.Header.Get("Authorization") != auth {
		return "The request signature we calculated does not match the signature you provided."
	}
	return ""
}

// parseRaw reads a raw MIME message into m.
func parseRaw(raw []byte, from string, m *Mail) string {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "Could not parse the raw message: " + err.Error()
	}
	h := msg.Header
	if h.Get("Bcc") != "" {
		return "the raw message has a Bcc header"
	}
	fromHdr, err := mail.ParseAddress(h.Get("From"))
	if err != nil {
		return "Missing or invalid From header"
	}
	if from != "" && !strings.EqualFold(from, fromHdr.Address) {
		return "FromEmailAddress does not match the From header"
	}
	m.FromName, m.FromEmail = fromHdr.Name, fromHdr.Address
	if rt := h.Get("Reply-To"); rt != "" {
		a, err := mail.ParseAddress(rt)
		if err != nil {
			return "Invalid Reply-To header"
		}
		m.ReplyTo = a.Address
	}
	dec := new(mime.WordDecoder)
	m.Subject, _ = dec.DecodeHeader(h.Get("Subject"))
	m.MessageID = h.Get("Message-Id")
	for k, v := range h {
		switch http.CanonicalHeaderKey(k) {
		case "From", "To", "Cc", "Reply-To", "Subject", "Message-Id", "Date", "Mime-Version", "Content-Type", "Content-Transfer-Encoding":
		default:
			m.Headers[k] = v[0]
		}
	}
	return walkPart(h, msg.Body, m)
}

// walkPart reads one MIME part (recursively for multipart ones) into m.
func walkPart(h map[string][]string, body io.Reader, m *Mail) string {
	get := func(k string) string {
		if v := h[http.CanonicalHeaderKey(k)]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mt, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return ""
			}
			if err != nil {
				return "broken multipart body: " + err.Error()
			}
			if problem := walkPart(p.Header, p, m); problem != "" {
				return problem
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(get("Content-Transfer-Encoding")) {
	case "base64":
		r = base64Reader(body)
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return "broken part body: " + err.Error()
	}
	disp, dparams, _ := mime.ParseMediaType(get("Content-Disposition"))
	switch {
	case disp == "attachment" || dparams["filename"] != "":
		name := dparams["filename"]
		if name == "" {
			name = params["name"]
		}
		m.Attachments = append(m.Attachments, Attachment{Filename: name, ContentType: mt, Data: data})
	case mt == "text/html":
		m.HTML = strings.ReplaceAll(string(data), "\r\n", "\n")
	default:
		m.Text = strings.ReplaceAll(string(data), "\r\n", "\n")
	}
	return ""
}

// base64Reader decodes a base64 body whose lines are broken with CRLF.
func base64Reader(r io.Reader) io.Reader {
	b, _ := io.ReadAll(r)
	clean := strings.Map(func(c rune) rune {
		if c == '\r' || c == '\n' || c == ' ' {
			return -1
		}
		return c
	}, string(b))
	out, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return strings.NewReader("")
	}
	return bytes.NewReader(out)
}
