package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// postRaw sends body as is to /graphql and returns the status and the
// decoded answer; token "" sends none.
func (b *bundle) postRaw(t *testing.T, token string, body []byte) (int, gqlResponse) {
	t.Helper()
	r, err := b.gql.PostBody(context.Background(), token, nil, body)
	require.NoError(t, err)
	return r.Status, r
}

// send sends req as it is and returns the status and the decoded answer.
func (b *bundle) send(t *testing.T, req *http.Request) (int, gqlResponse) {
	t.Helper()
	r, err := b.gql.Send(req)
	require.NoError(t, err)
	return r.Status, r
}

func operation(t *testing.T, query string, vars map[string]any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return body
}

// TestHugeAliasQueryIsRefusedCheaply: 1.6 M aliases (22 MB) are refused in
// milliseconds, reading no more than the body limit allows and never
// building the document.
func TestHugeAliasQueryIsRefusedCheaply(t *testing.T) {
	b := setup(t, setupOpts{noWorkers: true})
	var q strings.Builder
	q.WriteString("{")
	for i := range 1_600_000 {
		fmt.Fprintf(&q, "a%d:__typename ", i)
	}
	q.WriteString("}")
	body := operation(t, q.String(), nil)
	token := b.token(t, "acme", "admin")
	// 40,000 aliases fit the small body limit; the parser stops at its
	// token limit.
	var small strings.Builder
	small.WriteString("{")
	for i := range 40_000 {
		fmt.Fprintf(&small, "a%d:__typename ", i)
	}
	small.WriteString("}")
	manyTokens := operation(t, small.String(), nil)

	for _, tc := range []struct {
		name     string
		token    string
		body     []byte
		status   int
		code     string
		maxAlloc uint64
	}{
		// Without a token only the small body limit holds.
		{"anonymous", "", body, http.StatusRequestEntityTooLarge, "BAD_REQUEST", 32 << 20},
		// With one the body may be read (it is below the sending limit), but
		// a document over the small limit never reaches the parser.
		{"with token", token, body, http.StatusRequestEntityTooLarge, "BAD_REQUEST", 160 << 20},
		{"many tokens", token, manyTokens, http.StatusUnprocessableEntity, "GRAPHQL_PARSE_FAILED", 32 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			status, resp := b.postRaw(t, tc.token, tc.body)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			require.Equal(t, tc.status, status, resp.Raw)
			require.Equal(t, tc.code, resp.Code(), resp.Raw)
			require.Less(t, elapsed, 2*time.Second*raceSlowdown, "refusing must not parse the whole document")
			alloc := after.TotalAlloc - before.TotalAlloc
			require.Less(t, alloc, tc.maxAlloc, "allocated %d MiB", alloc>>20)
			require.Less(t, len(resp.Raw), 1000, "the answer must not echo the request")
		})
	}
}

// TestLargeBodiesOnlyForSending: past OUTBOX_MAX_QUERY_BODY_BYTES only an
// authenticated sending mutation may use the larger body limit.
func TestLargeBodiesOnlyForSending(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	token := b.token(t, "acme", "admin")
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 1500<<10)) // 2 MB of base64
	send := operation(t, `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } }`, map[string]any{
		"input": map[string]any{
			"to": []string{"a@example.com"}, "subject": "Hi", "text": "Hello",
			"attachments": []map[string]any{{"filename": "a.bin", "contentType": "application/octet-stream", "contentBase64": big}},
		},
	})
	query := operation(t, `query($pad: String) { messages(after: $pad) { edges { cursor } } }`, map[string]any{"pad": big})
	mixed := operation(t, `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { id } useDefaultSender { mode } }`, map[string]any{
		"input": map[string]any{"to": []string{"a@example.com"}, "subject": strings.Repeat("s", 1500<<10), "text": "Hello"},
	})

	status, resp := b.postRaw(t, token, send)
	require.Equal(t, http.StatusOK, status, resp.Raw)
	require.Empty(t, resp.Errors, resp.Raw)

	for _, tc := range []struct {
		name  string
		token string
		body  []byte
	}{
		{"send without token", "", send},
		{"query with token", token, query},
		{"send with another mutation", token, mixed},
	} {
		status, resp := b.postRaw(t, tc.token, tc.body)
		require.Equal(t, http.StatusRequestEntityTooLarge, status, tc.name)
		require.Equal(t, "BAD_REQUEST", resp.Code(), tc.name)
		require.Contains(t, resp.Errors[0].Message, "too large", tc.name)
	}
}

// TestMalformedRequestsAreBadRequest: what cannot be read as one GraphQL
// request is BAD_REQUEST with a clear message, never INTERNAL, and neither
// the answer nor the log repeats the body.
func TestMalformedRequestsAreBadRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	token := b.token(t, "acme", "admin")
	const secret = "s3cr3t-body-marker"
	messages := `query($f: MessageFilter) { messages(filter: $f) { edges { node { id } } } }`
	for _, tc := range []struct {
		name    string
		body    []byte
		status  int
		message string
	}{
		{"malformed JSON", []byte(`{"query": "{ viewer { subject } }", "x": "` + secret), http.StatusBadRequest, "not valid JSON"},
		{"not an object", []byte(`"` + secret + `"`), http.StatusBadRequest, "JSON object"},
		{"batched", []byte(`[{"query":"{ viewer { subject } }"},{"query":"{ viewer { subject } }","x":"` + secret + `"}]`), http.StatusBadRequest, "batched"},
		{"trailing data", []byte(`{"query":"{ viewer { subject } }"} {"x":"` + secret + `"}`), http.StatusBadRequest, "one JSON object"},
		{"wrong field type", []byte(`{"query": 12, "x":"` + secret + `"}`), http.StatusBadRequest, "query"},
		{"bad time in a variable", operation(t, messages, map[string]any{"f": map[string]any{"since": secret}}), http.StatusBadRequest, "RFC 3339"},
		{"bad time inline", operation(t, `{ messages(filter: {since: "`+secret+`"}) { edges { node { id } } } }`, nil), http.StatusBadRequest, "RFC 3339"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, resp := b.postRaw(t, token, tc.body)
			require.Equal(t, tc.status, status, resp.Raw)
			require.Equal(t, "BAD_REQUEST", resp.Code(), resp.Raw)
			require.Contains(t, resp.Errors[0].Message, tc.message)
			require.NotContains(t, resp.Raw, secret)
		})
	}
	require.NotContains(t, b.logs.String(), secret)
}

// TestSubscriptionsNeedTheWebsocket: a subscription over POST or GET would
// hold a request open outside the websocket's caps; it is refused at once.
func TestSubscriptionsNeedTheWebsocket(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	token := b.token(t, "acme", "admin")
	const sub = `subscription { messageEvents { id } }`

	post, err := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", bytes.NewReader(operation(t, sub, nil)))
	require.NoError(t, err)
	post.Header.Set("Content-Type", "application/json")
	get, err := http.NewRequest(http.MethodGet, b.srv.URL+"/graphql?query="+url.QueryEscape(sub), nil)
	require.NoError(t, err)
	sse, err := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", bytes.NewReader(operation(t, sub, nil)))
	require.NoError(t, err)
	sse.Header.Set("Content-Type", "application/json")
	sse.Header.Set("Accept", "text/event-stream")
	for name, req := range map[string]*http.Request{"POST": post, "GET": get, "SSE": sse} {
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		status, resp := b.send(t, req)
		require.Less(t, time.Since(start), 5*time.Second, name)
		require.Equal(t, http.StatusBadRequest, status, name+": "+resp.Raw)
		require.Equal(t, "BAD_REQUEST", resp.Code(), name+": "+resp.Raw)
		require.Contains(t, resp.Errors[0].Message, "websocket", name)
	}

	// A mutation over GET is refused the same way.
	get, err = http.NewRequest(http.MethodGet, b.srv.URL+"/graphql?query="+url.QueryEscape(`mutation { useDefaultSender { mode } }`), nil)
	require.NoError(t, err)
	get.Header.Set("Authorization", "Bearer "+token)
	status, resp := b.send(t, get)
	require.Equal(t, http.StatusMethodNotAllowed, status, resp.Raw)
	require.Equal(t, "BAD_REQUEST", resp.Code(), resp.Raw)
}

// TestFragmentBombsAreRefusedAtOnce: complexity and depth are computed once
// per fragment, so 2^25 spreads cost 26 steps.
func TestFragmentBombsAreRefusedAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{"OUTBOX_QUERY_COMPLEXITY": "2000000000", "OUTBOX_QUERY_DEPTH": "2"}})
	token := b.token(t, "acme", "admin")
	bomb := func(leaf string) string {
		var q strings.Builder
		q.WriteString("query { ...F0 }\n")
		for i := range 25 {
			fmt.Fprintf(&q, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
		}
		fmt.Fprintf(&q, "fragment F25 on Query { %s }\n", leaf)
		return q.String()
	}
	nested := func(levels int) string {
		var q strings.Builder
		q.WriteString("{ ")
		for i := range levels {
			fmt.Fprintf(&q, "f%d { ", i)
		}
		q.WriteString("id" + strings.Repeat(" }", levels+1))
		return q.String()
	}
	for _, tc := range []struct {
		name  string
		query string
		code  string
	}{
		// 2^25 × 120 > 2,000,000,000; expanding it would take minutes.
		{"complexity", bomb(strings.Repeat("viewer { subject } ", 60)), "COMPLEXITY_LIMIT_EXCEEDED"},
		// Depth 3 > 2 (the bomb's complexity, 2^25 × 3, is within the limit).
		{"depth", bomb("viewer { tenant { id } }"), "DEPTH_LIMIT_EXCEEDED"},
		{"cycle", `query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }`, "GRAPHQL_VALIDATION_FAILED"},
		{"1,000 levels", nested(1000), "GRAPHQL_PARSE_FAILED"},
		{"500 levels", nested(500), "GRAPHQL_VALIDATION_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp := b.do(t, token, tc.query, nil)
			require.Less(t, time.Since(start), 2*time.Second)
			require.Equal(t, tc.code, resp.Code(), resp.Raw)
		})
	}
}

// TestRepeatedFieldsAreRefusedBeforeValidation: thousands of fields with
// one response name make validation quadratic; they are refused first.
func TestRepeatedFieldsAreRefusedBeforeValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	var spreads, fragments strings.Builder
	for i := range 1400 {
		fmt.Fprintf(&spreads, " ...F%d", i)
		fmt.Fprintf(&fragments, " fragment F%d on Query { __typename }", i)
	}
	for name, q := range map[string]string{
		"one set":            "{" + strings.Repeat(" __typename", 14000) + "}",
		"distinct fragments": "{" + spreads.String() + "}" + fragments.String(),
	} {
		start := time.Now()
		resp := b.do(t, "", q, nil)
		require.Less(t, time.Since(start), 2*time.Second*raceSlowdown, name)
		require.Equal(t, "BAD_REQUEST", resp.Code(), resp.Raw)
	}
}

// TestOperationNameLabelIsBounded: a client-chosen operation name never
// becomes a Prometheus label value.
func TestOperationNameLabelIsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true})
	token := b.token(t, "acme", "admin")
	b.do(t, token, `query RandomName8f3a { viewer { subject } }`, nil)
	b.do(t, token, `query OtherRandom77 { viewer { subject } providerPresets { name } }`, nil)
	b.do(t, token, `query Broken99 { nope }`, nil)
	resp, err := http.Get(b.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := string(raw)
	for _, name := range []string{"RandomName8f3a", "OtherRandom77", "Broken99"} {
		require.NotContains(t, body, name)
	}
	require.Contains(t, body, `outbox_graphql_operations_total{operation="viewer",outcome="ok",type="query"} 1`)
	require.Contains(t, body, `outbox_graphql_operations_total{operation="other",outcome="ok",type="query"} 1`)
}

// TestProductionIntrospectionAndSuggestions: production says introspection
// is disabled, with a code, and never suggests names.
func TestProductionIntrospectionAndSuggestions(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{noWorkers: true, env: map[string]string{
		"OUTBOX_ENV": "production", "OUTBOX_JWT_ISSUER": "idp", "OUTBOX_SECRET_KEY": "k1:" + strings.Repeat("A", 43) + "=",
	}})
	token := b.token(t, "acme", "admin")
	for _, q := range []string{`{ __schema { types { name } } }`, `{ __type(name: "Query") { name } }`, `fragment F on Query { __schema { queryType { name } } } { ...F }`} {
		resp := b.do(t, token, q, nil)
		require.Equal(t, "BAD_REQUEST", resp.Code(), resp.Raw)
		require.Contains(t, resp.Errors[0].Message, "introspection is disabled")
	}
	resp := b.do(t, token, `{ __typename viewer { subject } }`, nil)
	require.Empty(t, resp.Errors, resp.Raw)

	for _, q := range []string{
		`{ viewr { subject } }`,
		`{ viewer { subjct } }`,
		`{ messages(frist: 1) { edges { cursor } } }`,
		`{ messages(filter: {status: [SNT]}) { edges { cursor } } }`,
		`{ messages(filter: {statu: [SENT]}) { edges { cursor } } }`,
		`query($f: MessageFiltr) { messages(filter: $f) { edges { cursor } } }`,
	} {
		resp := b.do(t, token, q, nil)
		require.NotEmpty(t, resp.Errors, q)
		require.NotContains(t, resp.Raw, "Did you mean", q)
	}
}
