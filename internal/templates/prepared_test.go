package templates

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPreparedRendersManyMessages renders one prepared template for many
// messages: the output is Render's, and every message has a budget of its
// own (a loop that fits once fits every time) while a message over budget
// still fails on its own.
func TestPreparedRendersManyMessages(t *testing.T) {
	t.Parallel()
	tpl := Template{Key: "k", Subject: "Order {{.n}}", Text: "{{range .items}}{{print .}};{{end}}", HTML: "<p>{{.name}}</p>"}
	limits := Limits{MaxIterations: 10}
	p, err := Prepare(tpl, limits)
	require.NoError(t, err)
	items := []any{1, 2, 3, 4, 5, 6, 7}
	for n := range 5 {
		vars := map[string]any{"n": n, "items": items, "name": "<Tom>"}
		got, err := p.Render(vars)
		require.NoError(t, err, "message %d", n)
		want, err := Render(tpl, vars, limits)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, fmt.Sprintf("Order %d", n), got.Subject)
		require.Equal(t, "<p>&lt;Tom&gt;</p>", got.HTML)
	}

	_, err = p.Render(map[string]any{"n": 1, "items": make([]any, 11), "name": "x"})
	requireInvalid(t, err, "text", "loops more than 10 times")
	_, err = p.Render(map[string]any{"n": 1, "items": items})
	requireInvalid(t, err, "variables", `no "name"`)
	got, err := p.Render(map[string]any{"n": 2, "items": items, "name": "x"})
	require.NoError(t, err, "a failed message leaves the next alone")
	require.Equal(t, "Order 2", got.Subject)

	_, err = Prepare(Template{Key: "k", Subject: "s", Text: "{{if}}"}, limits)
	requireInvalid(t, err, "text", "line 1")
}
