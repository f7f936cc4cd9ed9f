package templates

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/outbox/outbox/internal/outbox"
)

// FuzzRender renders arbitrary template sources with arbitrary variables
// (as JSON, the way they arrive from the API). Whatever the input, Render
// must not panic, must stay within its limits, must refuse only with an
// EINVALID error naming a part or the variables, and must keep the subject
// on one line (header injection).
func FuzzRender(f *testing.F) {
	seeds := [][4]string{
		{"Hi {{.name}}", "Hello {{.name}}, order {{.order.id}}", `<p>{{.name}}</p><a href="{{.url}}">x</a>`, `{"name":"Tom","order":{"id":7},"url":"javascript:alert(1)"}`},
		{"{{range .items}}{{.}}{{end}}", "{{range $i, $x := .items}}{{$i}}={{$x}}\n{{end}}", "", `{"items":["a","b",3]}`},
		{"{{printf \"%v %s\" .x .y}}", "{{if gt .total 100}}big{{else}}small{{end}}", "", `{"x":1.5,"y":"z","total":150}`},
		{"{{with index . \"coupon\"}}{{.}}{{end}}", "{{len .s}} {{slice .s 1 2}}", "<script>var x = {{.s}};</script>", `{"s":"abc"}`},
		{"{{range .a}}{{range .}}{{range .}}x{{end}}{{end}}{{end}}", "t", "", `{"a":[[[1,2],[3]],[[4]]]}`},
		{"line\r\nBcc: evil@example.com {{.v}}", "{{.v}}", "", `{"v":"\r\nX-Injected: 1"}`},
		{"{{define \"x\"}}{{end}}", "{{template \"x\"}}", "{{block \"b\" .}}{{end}}", `{}`},
		{"{{", "}}", "{{.}}", `null`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	limits := Limits{Timeout: 100 * time.Millisecond, MaxOutput: 64 << 10, MaxIterations: 10_000}
	f.Fuzz(func(t *testing.T, subject, text, html, varsJSON string) {
		var vars map[string]any
		dec := json.NewDecoder(strings.NewReader(varsJSON))
		dec.UseNumber()
		if dec.Decode(&vars) != nil {
			vars = map[string]any{}
		}
		start := time.Now()
		out, err := Render(Template{Key: "fuzz", Subject: subject, Text: text, HTML: html}, vars, limits)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("rendering took %s despite a %s timeout", took, limits.Timeout)
		}
		if err != nil {
			e := outbox.AsError(err)
			if e == nil || e.Code != outbox.EINVALID {
				t.Fatalf("not an EINVALID error: %v", err)
			}
			switch e.Field {
			case "subject", "text", "html", "variables":
			default:
				t.Fatalf("error names field %q: %v", e.Field, err)
			}
			return
		}
		if strings.ContainsAny(out.Subject, "\r\n") {
			t.Fatalf("subject spans lines: %q", out.Subject)
		}
		for _, body := range []string{out.Text, out.HTML} {
			if len(body) > limits.MaxOutput {
				t.Fatalf("a body of %d bytes passed the %d-byte limit", len(body), limits.MaxOutput)
			}
		}
	})
}
