package delivery

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outbox/outbox/internal/outbox"
)

// MaxAttachments is the most attachments one message may carry.
const MaxAttachments = 20

// maxFilenameBytes bounds an attachment's file name.
const maxFilenameBytes = 255

// AttachmentInput is a file to attach, as a caller sends it.
type AttachmentInput struct {
	Filename    string
	ContentType string
	// ContentBase64 is the file, base64-encoded (standard alphabet, padding
	// optional, line breaks allowed).
	ContentBase64 string
}

// attachment is a checked, decoded attachment, as stored in a message's
// payload (Data is base64 in the JSON).
type attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"data"`
}

// blockedExtensions are file types mail providers refuse (Gmail, Microsoft
// 365): refusing them here fails the send at once instead of after queueing.
var blockedExtensions = map[string]bool{
	".ade": true, ".adp": true, ".apk": true, ".appx": true, ".bat": true, ".cab": true, ".chm": true,
	".cmd": true, ".com": true, ".cpl": true, ".dll": true, ".dmg": true, ".exe": true, ".hta": true,
	".ins": true, ".isp": true, ".jar": true, ".js": true, ".jse": true, ".lib": true, ".lnk": true,
	".mde": true, ".msc": true, ".msi": true, ".msix": true, ".msp": true, ".mst": true, ".nsh": true,
	".pif": true, ".ps1": true, ".scr": true, ".sct": true, ".shb": true, ".sys": true, ".vb": true,
	".vbe": true, ".vbs": true, ".vxd": true, ".wsc": true, ".wsf": true, ".wsh": true,
}

// allowedTopTypes are the MIME top-level types an attachment may have;
// multipart and message types would nest MIME structure into the mail.
var allowedTopTypes = map[string]bool{
	"application": true, "audio": true, "font": true, "image": true, "model": true, "text": true, "video": true,
}

// sniffed are declared types whose content is checked against the file's
// first bytes, so that a mislabelled file (an HTML page sent as an invoice
// PDF) is refused before it reaches a customer.
var sniffed = map[string]string{
	"application/pdf": "application/pdf",
	"image/png":       "image/png",
	"image/jpeg":      "image/jpeg",
	"image/gif":       "image/gif",
	"image/webp":      "image/webp",
	"application/zip": "application/zip",
}

// decodeAttachments checks and decodes a message's attachments: at most
// MaxAttachments, each with a plain file name and a valid, allowed content
// type that matches the content, all together at most maxBytes decoded.
// Errors are EINVALID on prefix+"attachments[i]…".
func decodeAttachments(prefix string, in []AttachmentInput, maxBytes int) ([]attachment, error) {
	if len(in) > MaxAttachments {
		return nil, outbox.Invalid(prefix+"attachments", "at most %d attachments per message", MaxAttachments)
	}
	out := make([]attachment, 0, len(in))
	total := 0
	for i, a := range in {
		field := fmt.Sprintf("%sattachments[%d]", prefix, i)
		name, err := checkFilename(field+".filename", a.Filename)
		if err != nil {
			return nil, err
		}
		ctype, err := checkContentType(field+".contentType", name, a.ContentType)
		if err != nil {
			return nil, err
		}
		// Base64 decodes to 3/4 of its length (less with line breaks):
		// refuse a far too long one before decoding it.
		if len(a.ContentBase64)/2 > maxBytes-total+1024 {
			return nil, tooLarge(prefix, maxBytes)
		}
		data, err := decodeBase64(a.ContentBase64)
		if err != nil {
			return nil, outbox.Invalid(field+".contentBase64", "%q is not valid base64", name)
		}
		if total += len(data); total > maxBytes {
			return nil, tooLarge(prefix, maxBytes)
		}
		if want, ok := sniffed[ctype]; ok && len(data) > 0 {
			if got, _, _ := strings.Cut(http.DetectContentType(data), ";"); got != want {
				return nil, outbox.Invalid(field+".contentType", "%q is declared %s but its content is %s", name, ctype, got)
			}
		}
		out = append(out, attachment{Filename: name, ContentType: ctype, Data: data})
	}
	return out, nil
}

func tooLarge(prefix string, maxBytes int) error {
	return outbox.Invalid(prefix+"attachments", "the attachments are larger than %d MB together", maxBytes>>20)
}

func checkFilename(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", outbox.Invalid(field, "enter a file name, like invoice.pdf")
	case len(name) > maxFilenameBytes:
		return "", outbox.Invalid(field, "must be at most %d bytes", maxFilenameBytes)
	case !utf8.ValidString(name):
		return "", outbox.Invalid(field, "is not valid UTF-8")
	case strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		return "", outbox.Invalid(field, "%q must be a file name without a path", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", outbox.Invalid(field, "must not contain line breaks or control characters")
		}
	}
	if blockedExtensions[strings.ToLower(path.Ext(name))] {
		return "", outbox.Invalid(field, "%q: mail providers refuse %s files; send a link or a ZIP instead", name, path.Ext(name))
	}
	return name, nil
}

func checkContentType(field, name, ctype string) (string, error) {
	media, params, err := mime.ParseMediaType(strings.TrimSpace(ctype))
	if err != nil || !strings.Contains(media, "/") {
		return "", outbox.Invalid(field, "%q has an invalid content type %q; use a MIME type like application/pdf", name, ctype)
	}
	top, _, _ := strings.Cut(media, "/")
	if !allowedTopTypes[top] {
		return "", outbox.Invalid(field, "%q: content type %s is not allowed for attachments", name, media)
	}
	switch media {
	case "application/x-msdownload", "application/x-msdos-program", "application/x-executable",
		"application/x-sh", "application/x-bat", "application/java-archive", "application/vnd.microsoft.portable-executable":
		return "", outbox.Invalid(field, "%q: executable content (%s) is refused by mail providers", name, media)
	}
	// Keep only the charset: other parameters (name, boundary) are for the
	// transport to write.
	if cs := params["charset"]; cs != "" && top == "text" {
		return mime.FormatMediaType(media, map[string]string{"charset": cs}), nil
	}
	return media, nil
}

// decodeBase64 decodes standard base64, with or without padding, ignoring
// line breaks and spaces as MIME encoders write them.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	return base64.RawStdEncoding.DecodeString(s)
}
