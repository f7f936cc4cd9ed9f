package templates

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outbox/outbox/internal/outbox"
)

func requireInvalid(t *testing.T, err error, field, contains string) {
	t.Helper()
	require.Error(t, err)
	e := outbox.AsError(err)
	require.NotNil(t, e, "want an *outbox.Error, got %v", err)
	require.Equal(t, outbox.EINVALID, e.Code, err.Error())
	require.Equal(t, field, e.Field, err.Error())
	require.Contains(t, e.Message, contains)
}

func TestRenderEscapesHTMLOnly(t *testing.T) {
	t.Parallel()
	tpl := Template{Key: "k", Subject: "Hi {{.name}}", Text: "Hi {{.name}}", HTML: `<p>Hi {{.name}}</p><a href="{{.url}}">x</a>`}
	out, err := Render(tpl, map[string]any{"name": `<b>"Tom" & Jerry</b>`, "url": "javascript:alert(1)"}, Limits{})
	require.NoError(t, err)
	require.Equal(t, `Hi <b>"Tom" & Jerry</b>`, out.Subject)
	require.Equal(t, `Hi <b>"Tom" & Jerry</b>`, out.Text)
	require.Contains(t, out.HTML, `Hi &lt;b&gt;&#34;Tom&#34; &amp; Jerry&lt;/b&gt;`)
	require.Contains(t, out.HTML, `href="#ZgotmplZ"`, "unsafe URLs are neutralised")
}

func TestRenderSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	tpl := Template{Key: "k", Subject: "Order {{.n}}\n for  {{.name}}", Text: "x"}
	out, err := Render(tpl, map[string]any{"n": 7, "name": "Eve\r\nBcc: evil@example.com\t"}, Limits{})
	require.NoError(t, err)
	require.Equal(t, "Order 7 for Eve Bcc: evil@example.com", out.Subject)

	_, err = Render(Template{Key: "k", Subject: "{{.s}}", Text: "x"}, map[string]any{"s": " \n"}, Limits{})
	requireInvalid(t, err, "subject", "renders empty")
	_, err = Render(Template{Key: "k", Subject: "{{.s}}", Text: "x"}, map[string]any{"s": strings.Repeat("あ", MaxSubjectRunes+1)}, Limits{})
	requireInvalid(t, err, "subject", "characters")
}

func TestRenderVariables(t *testing.T) {
	t.Parallel()
	tpl := Template{Key: "k", Subject: "s", Text: "{{if gt .total 100}}big{{end}} {{.total}} {{.price}}{{with index . \"coupon\"}} {{.}}{{end}}"}
	out, err := Render(tpl, map[string]any{"total": json.Number("150"), "price": json.Number("9.5")}, Limits{})
	require.NoError(t, err)
	require.Equal(t, "big 150 9.5", out.Text)

	_, err = Render(Template{Key: "k", Subject: "s", Text: "line one\nHello {{.name}}"}, map[string]any{}, Limits{})
	requireInvalid(t, err, "variables", `no "name"`)
	require.Contains(t, err.Error(), "line 2")
}

func TestCheckNamesTheLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		tpl      Template
		field    string
		contains string
	}{
		{"unclosed action", Template{Key: "k", Subject: "s", Text: "a\nb\n{{.x\n"}, "text", "unclosed action started at text:3"},
		{"unknown function", Template{Key: "k", Subject: "s", HTML: "<p>\n{{nope .x}}</p>"}, "html", `line 2: function "nope" not defined`},
		{"subject", Template{Key: "k", Subject: "{{end}}", Text: "x"}, "subject", "line 1"},
		{"define", Template{Key: "k", Subject: "s", Text: `{{define "a"}}x{{end}}`}, "text", "not allowed"},
		{"template", Template{Key: "k", Subject: "s", Text: "x\n{{template \"a\" .}}"}, "text", "line 2: {{template}}"},
		{"block", Template{Key: "k", Subject: "s", Text: `{{block "a" .}}x{{end}}`}, "text", "not allowed"},
		{"html branches", Template{Key: "k", Subject: "s", HTML: "<p>\n{{if .a}}<a href=\"{{else}}<b>{{end}}"}, "html", "line 2"},
		{"bad key", Template{Key: "Order Confirmed", Subject: "s", Text: "x"}, "key", "not a template key"},
		{"no body", Template{Key: "k", Subject: "s"}, "text", "text body"},
		{"no subject", Template{Key: "k", Text: "x"}, "subject", "enter a subject"},
		{"too big", Template{Key: "k", Subject: "s", Text: strings.Repeat("x", MaxBodySource+1)}, "text", "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requireInvalid(t, Check(tc.tpl), tc.field, tc.contains)
		})
	}
	require.NoError(t, Check(Template{Key: "order.custom_1", Subject: "s {{.a}}", Text: "{{range .l}}{{.}}{{end}}", HTML: "<p>{{.a}}</p>"}))
}

// TestRenderHostileTemplates proves that templates written to exhaust the
// server fail quickly with a clear error instead.
func TestRenderHostileTemplates(t *testing.T) {
	t.Parallel()
	list := make([]any, 100)
	for i := range list {
		list[i] = i
	}
	vars := map[string]any{"l": list, "big": strings.Repeat("x", 100<<10)}
	for _, tc := range []struct {
		name, text, contains string
	}{
		{"huge integer range", "{{range 1000000000}}{{end}}", "loops more than"},
		{"nested ranges", "{{range .l}}{{range $.l}}{{range $.l}}{{end}}{{end}}{{end}}", "loops more than"},
		{"doubling string", `{{$x := "ab"}}{{range .l}}{{$x = printf "%s%s" $x $x}}{{end}}{{$x}}`, "strings larger than"},
		{"doubling with print", `{{$x := "ab"}}{{range .l}}{{$x = print $x $x}}{{end}}`, "strings larger than"},
		{"growing html escape", `{{$x := "&&&&"}}{{range .l}}{{$x = html $x $x}}{{end}}`, "strings larger than"},
		{"huge printf width", `{{printf "%999999d" 1}}`, "widths"},
		{"printf star width", `{{printf "%*d" 999999 1}}`, "*"},
		{"output flood", "{{range .l}}{{$.big}}{{end}}", "larger than"},
		{"call", `{{call .l}}`, "call is not available"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Render(Template{Key: "k", Subject: "s", Text: tc.text}, vars, Limits{Timeout: time.Minute})
			requireInvalid(t, err, "text", tc.contains)
			// Stopped by the budget, not the (1 min) deadline; generous for -race on a busy machine.
			require.Less(t, time.Since(start), 10*time.Second)
		})
	}

	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		_, err := Render(Template{Key: "k", Subject: "s", Text: "{{range .l}}{{.}}{{end}}"}, vars, Limits{Timeout: time.Nanosecond})
		requireInvalid(t, err, "subject", "longer than")
	})

	t.Run("html", func(t *testing.T) {
		t.Parallel()
		_, err := Render(Template{Key: "k", Subject: "s", HTML: "{{range .l}}{{range $.l}}{{range $.l}}<b>{{.}}</b>{{end}}{{end}}{{end}}"}, vars, Limits{Timeout: time.Minute})
		requireInvalid(t, err, "html", "loops more than")
	})

	t.Run("within budget", func(t *testing.T) {
		t.Parallel()
		out, err := Render(Template{Key: "k", Subject: "s", Text: "{{range .l}}{{range $.l}}.{{end}}{{end}}"}, vars, Limits{})
		require.NoError(t, err)
		require.Len(t, out.Text, 100*100)
	})
}

func TestCheckFormat(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"%s", "%5.2f", "%-10s|%+d", "100%%", "%[1]s %[1]q", "%1000d"} {
		require.NoError(t, checkFormat(ok), ok)
	}
	for _, bad := range []string{"%1001d", "%.5000f", "%*d", "%.*f", "%99999999999999999999d"} {
		require.Error(t, checkFormat(bad), bad)
	}
}

func TestBuiltInsRender(t *testing.T) {
	t.Parallel()
	shop := Shop{Name: `Shop [Tokyo]; "Best"`, ContactEmail: "help@example.com"}
	for _, tpl := range BuiltIns() {
		t.Run(tpl.Key, func(t *testing.T) {
			t.Parallel()
			require.True(t, tpl.BuiltIn)
			require.NoError(t, Check(tpl))
			out, err := Render(tpl, Variables(tpl.Key, shop, SampleVariables(tpl.Key)), Limits{})
			require.NoError(t, err)
			require.Contains(t, out.Subject, "Shop [Tokyo]", "the subject is not escaped")
			require.Contains(t, out.Text, `Shop [Tokyo]; "Best"`)
			require.Contains(t, out.HTML, "Shop [Tokyo]; &#34;Best&#34;")
			require.NotContains(t, out.Text+out.HTML, "<no value>")

			// Only the required variables: the optional ones have defaults.
			required := SampleVariables(tpl.Key)
			for k := range builtIns[tpl.Key].optional {
				delete(required, k)
			}
			_, err = Render(tpl, Variables(tpl.Key, Shop{Name: "s"}, required), Limits{})
			require.NoError(t, err)
		})
	}
	require.Len(t, BuiltIns(), 5)
}

// TestRenderTimeBudgetInsideLoops: a loop whose body writes nothing but
// does costly work (eq over two 1 MiB strings, 100,000 times: many seconds)
// stops at the time budget, not when the loop ends.
func TestRenderTimeBudgetInsideLoops(t *testing.T) {
	t.Parallel()
	// Two allocations: equal strings sharing memory compare at once.
	a, b := strings.Repeat("a", 1<<20), strings.Repeat("a", 1<<20)
	vars := map[string]any{"n": 100_000, "a": a, "b": b, "items": make([]any, 100_000)}
	for name, text := range map[string]string{
		"range over a number": `{{range $i := .n}}{{if eq $.a $.b}}{{end}}{{end}}done`,
		"range over a list":   `{{range .items}}{{if ne $.a $.b}}{{end}}{{end}}done`,
		"nested with":         `{{range .items}}{{with $.a}}{{if eq . $.b}}{{end}}{{end}}{{end}}done`,
		"break and continue":  `{{range .items}}{{if lt $.a $.b}}{{break}}{{end}}{{if eq $.a $.b}}{{continue}}{{end}}{{end}}done`,
	} {
		for _, html := range []bool{false, true} {
			tpl := Template{Key: "k", Subject: "s", Text: text}
			if html {
				tpl = Template{Key: "k", Subject: "s", HTML: "<p>" + text + "</p>"}
			}
			start := time.Now()
			_, err := Render(tpl, vars, Limits{Timeout: 100 * time.Millisecond})
			elapsed := time.Since(start)
			require.Error(t, err, name)
			require.Contains(t, err.Error(), "longer than", name)
			require.Less(t, elapsed, 2*time.Second, "%s (html %v) stopped after %s", name, html, elapsed)
		}
	}
}

// TestRenderLoopChecksDoNotShowInOutput: the per-iteration check renders
// nothing, in text and in every HTML context.
func TestRenderLoopChecksDoNotShowInOutput(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"items": []any{"a", "b"}}
	out, err := Render(Template{Key: "k", Subject: "{{range .items}}{{.}}{{end}}",
		Text: "[{{range .items}}{{.}},{{end}}]",
		HTML: `<p>{{range .items}}{{.}}{{end}}</p><a href="/x?{{range .items}}q={{.}}&{{end}}">x</a><script>var x = [{{range .items}}{{.}},{{end}}];</script>`,
	}, vars, Limits{})
	require.NoError(t, err)
	require.Equal(t, "ab", out.Subject)
	require.Equal(t, "[a,b,]", out.Text)
	require.Equal(t, `<p>ab</p><a href="/x?q=a&q=b&">x</a><script>var x = ["a","b",];</script>`, out.HTML)
}
