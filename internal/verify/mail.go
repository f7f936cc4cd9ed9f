package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

func subject(tenant outbox.Tenant) string {
	return "Verify your sender address for " + tenant.Name
}

// link is the page of a token: PublicURL/verify?token=….
func (s *Service) link(token string) string {
	return s.cfg.PublicURL + "/verify?" + url.Values{"token": {token}}.Encode()
}

type mailData struct {
	Tenant   string
	Platform string
	Email    string
	Link     string
	Expires  string
}

func (s *Service) mailData(tenant outbox.Tenant, email, token string, expires time.Time) mailData {
	return mailData{
		Tenant: tenant.Name, Platform: s.cfg.Platform.Name, Email: email, Link: s.link(token),
		Expires: expires.UTC().Format("2 Jan 2006 15:04 MST"),
	}
}

func mailText(d mailData) string {
	return fmt.Sprintf(`Hello,

%s asked to send its mail from %s through %s.
To confirm that this address is yours, open this link and press "Verify":

%s

The link works once and until %s.
If you did not expect this mail, ignore it: nothing changes unless someone presses "Verify".
`, d.Tenant, d.Email, d.Platform, d.Link, d.Expires)
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html>
<html><body style="font-family:sans-serif;line-height:1.5;color:#222">
<p>Hello,</p>
<p>{{.Tenant}} asked to send its mail from <b>{{.Email}}</b> through {{.Platform}}.
To confirm that this address is yours, open this link and press “Verify”:</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#2457d6;color:#fff;text-decoration:none;border-radius:4px">Open the verification page</a></p>
<p style="font-size:90%">Or copy this link: {{.Link}}</p>
<p style="font-size:90%;color:#555">The link works once and until {{.Expires}}.
If you did not expect this mail, ignore it: nothing changes unless someone presses “Verify”.</p>
</body></html>
`))

func renderHTML(d mailData) (string, error) {
	var b bytes.Buffer
	if err := mailHTML.Execute(&b, d); err != nil {
		return "", fmt.Errorf("rendering verification mail: %w", err)
	}
	return b.String(), nil
}

func jsonBytes(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return b, nil
}
