package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/outbox/outbox/internal/auth"
	"github.com/outbox/outbox/internal/outbox"
)

// BodyLimits caps GraphQL request bodies. Every request may send Query
// bytes; an authenticated request may send up to Send bytes, and only for a
// mutation that selects nothing but sending fields that take attachments
// (see @sends). Anything larger is 413 BAD_REQUEST.
type BodyLimits struct {
	Query int64
	Send  int64
}

// httpTransport serves one GraphQL operation per POST (a JSON object) or
// GET (URL parameters). It replaces gqlgen's POST and GET transports so that
// a body is read only up to its limit, malformed or batched JSON is
// BAD_REQUEST without repeating the body, and subscriptions (which belong on
// the websocket and its caps) are refused.
type httpTransport struct {
	limits  BodyLimits
	sending sendingFields
}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodPost || r.Method == http.MethodGet)
}

func (t httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	w.Header().Set("Content-Type", "application/json")
	start := graphql.Now()
	params, large, refusal := t.read(r)
	if refusal != nil {
		writeResponse(w, refusal.status, exec.DispatchError(ctx, gqlerror.List{refusal.gqlError()}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		status := statusOf(resp)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			status = http.StatusUnprocessableEntity
		}
		writeResponse(w, status, resp)
		return
	}
	if refusal := t.allowed(r.Method, oc.Operation, large); refusal != nil {
		writeResponse(w, refusal.status, exec.DispatchError(graphql.WithOperationContext(ctx, oc), gqlerror.List{refusal.gqlError()}))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	writeResponse(w, statusOf(resp), resp)
}

// read returns the request's parameters and whether its body passed
// limits.Query, or why it cannot be run.
func (t httpTransport) read(r *http.Request) (*graphql.RawParams, bool, *refusal) {
	if r.Method == http.MethodGet {
		p, err := getParams(r.URL.RawQuery)
		return p, false, err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, false, refuseRequest(http.StatusUnsupportedMediaType, "send the request as application/json")
	}
	limit := t.limits.Query
	if _, ok := auth.PrincipalFromContext(r.Context()); ok && t.limits.Send > limit {
		limit = t.limits.Send
	}
	if r.ContentLength > limit {
		return nil, false, t.tooLarge()
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 512), limit)+1))
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return nil, false, refuseRequest(http.StatusBadRequest, "the request body could not be read")
	}
	if int64(buf.Len()) > limit {
		return nil, false, t.tooLarge()
	}
	p, err := decodeParams(buf.Bytes())
	if err == nil && int64(len(p.Query)) > t.limits.Query {
		// Only variables (attachments) may need the larger limit; a
		// document that large is refused before the parser sees it.
		return nil, false, t.tooLarge()
	}
	return p, int64(buf.Len()) > t.limits.Query, err
}

func (t httpTransport) tooLarge() *refusal {
	return refuseRequest(http.StatusRequestEntityTooLarge,
		"the request body is too large: the limit is %d bytes, or %d for an authenticated sendNotification or sendNotifications mutation",
		t.limits.Query, t.limits.Send)
}

// decodeParams reads one JSON object of GraphQL parameters. Its messages
// never quote the body.
func decodeParams(body []byte) (*graphql.RawParams, *refusal) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return nil, refuseRequest(http.StatusBadRequest, `the request body is empty: send a JSON object with "query"`)
	case trimmed[0] == '[':
		return nil, refuseRequest(http.StatusBadRequest, "batched requests are not supported: send one operation per request")
	case trimmed[0] != '{':
		return nil, refuseRequest(http.StatusBadRequest, `the request body must be a JSON object with "query"`)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var p graphql.RawParams
	if err := dec.Decode(&p); err != nil {
		return nil, refuseRequest(http.StatusBadRequest, "the request body is not valid JSON: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, refuseRequest(http.StatusBadRequest, "the request body must hold one JSON object and nothing after it")
	}
	return &p, nil
}

func getParams(rawQuery string) (*graphql.RawParams, *refusal) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, refuseRequest(http.StatusBadRequest, "the URL parameters could not be parsed")
	}
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for name, into := range map[string]any{"variables": &p.Variables, "extensions": &p.Extensions} {
		if v := q.Get(name); v != "" {
			dec := json.NewDecoder(bytes.NewReader([]byte(v)))
			dec.UseNumber()
			if err := dec.Decode(into); err != nil {
				return nil, refuseRequest(http.StatusBadRequest, "the %s parameter is not a valid JSON object: %s", name, describeJSONError(err))
			}
		}
	}
	return p, nil
}

// describeJSONError says what is wrong without quoting the input.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("syntax error at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("%q must be a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &typ):
		return "wrong JSON type"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "it ends too early"
	default:
		return "unreadable"
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "map", "struct":
		return "object"
	default:
		return "value of another type"
	}
}

// allowed refuses what may not run over plain HTTP: subscriptions, anything
// but queries over GET, and large bodies for anything but sending.
func (t httpTransport) allowed(method string, op *ast.OperationDefinition, large bool) *refusal {
	switch {
	case op.Operation == ast.Subscription:
		return refuseRequest(http.StatusBadRequest, "subscriptions need the websocket: open /graphql with the graphql-transport-ws protocol")
	case method == http.MethodGet && op.Operation != ast.Query:
		return refuseRequest(http.StatusMethodNotAllowed, "GET runs only queries: send mutations with POST")
	case large && !t.sending.onlyAttachments(op):
		return t.tooLarge()
	}
	return nil
}

// statusOf is 400 for an answer that is nothing but BAD_REQUEST errors (an
// unparsable argument value), else 200.
func statusOf(resp *graphql.Response) int {
	if resp == nil || len(resp.Errors) == 0 || (len(resp.Data) > 0 && string(resp.Data) != "null") {
		return http.StatusOK
	}
	for _, e := range resp.Errors {
		if e.Extensions["code"] != string(outbox.EBADREQUEST) {
			return http.StatusOK
		}
	}
	return http.StatusBadRequest
}

func writeResponse(w http.ResponseWriter, status int, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client is gone; nobody to tell
}

// refusal is a request refused before it runs, with its HTTP status.
type refusal struct {
	status int
	err    *outbox.Error
}

func refuseRequest(status int, format string, args ...any) *refusal {
	return &refusal{status: status, err: outbox.Errorf(outbox.EBADREQUEST, format, args...)}
}

func (r *refusal) gqlError() *gqlerror.Error {
	return &gqlerror.Error{Message: r.err.Message, Err: r.err}
}

// badRequest is a BAD_REQUEST GraphQL error for the operation context
// mutators (they run inside gqlgen and answer with its status codes).
func badRequest(_ context.Context, format string, args ...any) *gqlerror.Error {
	e := outbox.Errorf(outbox.EBADREQUEST, format, args...)
	return &gqlerror.Error{Message: e.Message, Err: e, Extensions: map[string]any{"code": string(e.Code)}}
}
