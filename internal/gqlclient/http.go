package gqlclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stretchr/testify/require"
)

// Client posts GraphQL operations over HTTP to one endpoint, as a partner
// system or the web app does. It is safe for concurrent use.
type Client struct {
	url  string
	http *http.Client
}

// NewClient returns a client of the GraphQL endpoint url
// (http://host:port/graphql). Its requests time out after two minutes.
func NewClient(url string) *Client {
	return &Client{url: url, http: &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}}
}

// URL is the endpoint the client posts to.
func (c *Client) URL() string { return c.url }

// Request is one operation to post.
type Request struct {
	Query     string
	Variables map[string]any
	// Token is sent as a bearer token; "" sends none.
	Token string
	// Header holds further request headers (X-Request-Id, Origin, …).
	Header http.Header
}

// Response is the server's answer to one request.
type Response struct {
	// Status is the HTTP status code (0 for a subscription result).
	Status int             `json:"-"`
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	// Raw is the body as received.
	Raw string `json:"-"`
	// Took is the time from sending the request to reading the whole
	// answer, encoding and decoding left out.
	Took time.Duration `json:"-"`
}

// Error is one GraphQL error of an answer.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Code returns extensions.code, "" when there is none.
func (e Error) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// Code returns extensions.code of the first error, "" when there is none.
func (r Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[0].Code()
}

// Decode unmarshals the answer's data into out (nil: none). It returns an
// error naming the first GraphQL error when the answer has errors.
func (r Response) Decode(out any) error {
	if len(r.Errors) > 0 {
		return fmt.Errorf("GraphQL error %s: %s", r.Errors[0].Code(), r.Errors[0].Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return fmt.Errorf("decoding data %.300s: %w", r.Data, err)
	}
	return nil
}

// MustDecode is Decode failing t (with the raw answer) instead of returning
// an error.
func (r Response) MustDecode(t require.TestingT, out any) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	require.Empty(t, r.Errors, r.Raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(r.Data, out), r.Raw)
	}
}

// Post sends one operation. GraphQL errors are in the response; the error
// is for a request that could not be made or an answer that is not a
// GraphQL response (then with the status and the start of the body).
func (c *Client) Post(ctx context.Context, req Request) (Response, error) {
	body, err := json.Marshal(map[string]any{"query": req.Query, "variables": req.Variables})
	if err != nil {
		return Response{}, fmt.Errorf("encoding the request: %w", err)
	}
	return c.PostBody(ctx, req.Token, req.Header, body)
}

// PostBody sends body as it is, with token as a bearer token ("" sends
// none) and header's further headers; it returns what Post returns.
func (c *Client) PostBody(ctx context.Context, token string, header http.Header, body []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.Send(req)
}

// Send sends req as it is (any method, headers and body) and decodes the
// answer; it returns what Post returns.
func (c *Client) Send(req *http.Request) (Response, error) {
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return Response{}, fmt.Errorf("reading the answer: %w", err)
	}
	out := Response{Status: resp.StatusCode, Raw: string(raw), Took: took}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, raw)
	}
	return out, nil
}

// Do posts one operation with token and decodes its data into out (nil:
// none). GraphQL errors are returned as an error.
func (c *Client) Do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	r, err := c.Post(ctx, Request{Query: query, Variables: vars, Token: token})
	if err != nil {
		return err
	}
	return r.Decode(out)
}

// MustPost is Post for a test: it fails t when the request cannot be made
// or the answer is not a GraphQL response. GraphQL errors are in the
// response.
func (c *Client) MustPost(t require.TestingT, req Request) Response {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	r, err := c.Post(context.Background(), req)
	require.NoError(t, err)
	return r
}
