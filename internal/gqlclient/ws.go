package gqlclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/coder/websocket"
)

// Subprotocol is the websocket subprotocol spoken.
const Subprotocol = "graphql-transport-ws"

// Conn is one acknowledged graphql-transport-ws connection.
type Conn struct {
	ws *websocket.Conn

	writeMu sync.Mutex

	mu     sync.Mutex
	subs   map[string]*Subscription
	nextID int
	err    error // why the connection ended
	done   chan struct{}
}

// DialOptions tune Dial.
type DialOptions struct {
	// InitPayload is the connection_init payload (e.g. {"authorization": "Bearer …"}).
	InitPayload map[string]any
	// Header is sent with the upgrade request (e.g. Origin).
	Header http.Header
}

// message is a protocol message.
type message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Dial opens a websocket to url (ws://…/graphql), sends connection_init and
// waits for connection_ack. A refusal is returned as a *CloseError when the
// server closed the connection, with its code and reason.
func Dial(ctx context.Context, url string, opts DialOptions) (*Conn, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{Subprotocol}, HTTPHeader: opts.Header,
	})
	if err != nil {
		if resp != nil {
			return nil, &DialError{StatusCode: resp.StatusCode, Err: err}
		}
		return nil, err
	}
	if ws.Subprotocol() != Subprotocol {
		ws.CloseNow() //nolint:errcheck // already failing
		return nil, fmt.Errorf("server chose subprotocol %q", ws.Subprotocol())
	}
	ws.SetReadLimit(8 << 20)
	c := &Conn{ws: ws, subs: map[string]*Subscription{}, done: make(chan struct{})}
	payload, err := json.Marshal(opts.InitPayload)
	if err != nil {
		ws.CloseNow() //nolint:errcheck // already failing
		return nil, err
	}
	if opts.InitPayload == nil {
		payload = nil
	}
	if err := c.write(ctx, message{Type: "connection_init", Payload: payload}); err != nil {
		return nil, closeError(err)
	}
	for {
		m, err := c.read(ctx)
		if err != nil {
			ws.CloseNow() //nolint:errcheck // already failing
			return nil, closeError(err)
		}
		switch m.Type {
		case "connection_ack":
			go c.readLoop()
			return c, nil
		case "ping":
			if err := c.write(ctx, message{Type: "pong"}); err != nil {
				return nil, closeError(err)
			}
		default:
			ws.CloseNow() //nolint:errcheck // already failing
			return nil, fmt.Errorf("expected connection_ack, got %q", m.Type)
		}
	}
}

// DialError is a refused upgrade request.
type DialError struct {
	StatusCode int
	Err        error
}

func (e *DialError) Error() string { return fmt.Sprintf("HTTP %d: %v", e.StatusCode, e.Err) }
func (e *DialError) Unwrap() error { return e.Err }

// CloseError is the server closing the connection.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("closed with %d: %s", e.Code, e.Reason) }

func closeError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return err
}

func (c *Conn) write(ctx context.Context, m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *Conn) read(ctx context.Context) (message, error) {
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		return message{}, err
	}
	if typ != websocket.MessageText {
		return message{}, fmt.Errorf("expected a text message, got %v", typ)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return message{}, fmt.Errorf("decoding %q: %w", b, err)
	}
	return m, nil
}

func (c *Conn) readLoop() {
	var err error
	defer func() { c.end(closeError(err)) }()
	for {
		var m message
		if m, err = c.read(context.Background()); err != nil {
			return
		}
		switch m.Type {
		case "ping":
			if err = c.write(context.Background(), message{Type: "pong"}); err != nil {
				return
			}
		case "pong":
		case "next", "error", "complete":
			c.mu.Lock()
			s := c.subs[m.ID]
			if m.Type != "next" {
				delete(c.subs, m.ID)
			}
			c.mu.Unlock()
			if s != nil {
				s.deliver(m)
			}
		default:
			err = fmt.Errorf("unexpected message %q", m.Type)
			c.ws.Close(websocket.StatusCode(4400), "unexpected message") //nolint:errcheck // ending anyway
			return
		}
	}
}

func (c *Conn) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if err == nil {
		err = errors.New("connection closed")
	}
	c.err = err
	subs := c.subs
	c.subs = map[string]*Subscription{}
	close(c.done)
	c.mu.Unlock()
	for _, s := range subs {
		s.fail(err)
	}
}

// Done is closed when the connection has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (a *CloseError when the server
// closed it), or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection normally.
func (c *Conn) Close() {
	c.ws.Close(websocket.StatusNormalClosure, "") //nolint:errcheck // best effort
	c.end(errors.New("closed by the client"))
}

// Subscribe starts an operation. Its results queue up on the returned
// subscription until read with Next.
func (c *Conn) Subscribe(ctx context.Context, query string, variables map[string]any) (*Subscription, error) {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.err
	}
	c.nextID++
	s := &Subscription{conn: c, id: strconv.Itoa(c.nextID), signal: make(chan struct{}, 1)}
	c.subs[s.id] = s
	c.mu.Unlock()
	if err := c.write(ctx, message{Type: "subscribe", ID: s.id, Payload: payload}); err != nil {
		return nil, closeError(err)
	}
	return s, nil
}

// Subscription is one operation's stream of results.
type Subscription struct {
	conn   *Conn
	id     string
	mu     sync.Mutex
	queue  []Result
	ended  bool
	signal chan struct{}
}

// Result is one message of a subscription.
type Result struct {
	// Type is the message's type: "next", "error" or "complete"; "" when
	// the connection ended (Err says why).
	Type string
	// Data and Errors are a next message's payload; an error message's
	// errors are in Errors too.
	Data   json.RawMessage
	Errors []Error
	// Raw is the message's payload as received.
	Raw string
	// Complete says the server completed the subscription (no more results).
	Complete bool
	// Err is set when the server answered with an error message (Errors
	// holds them) or the connection ended.
	Err error
}

// Response returns the result as the answer of an HTTP request would
// read: its data, its errors and its raw payload.
func (r Result) Response() Response {
	return Response{Data: r.Data, Errors: r.Errors, Raw: r.Raw}
}

func (s *Subscription) deliver(m message) {
	r := Result{Type: m.Type, Raw: string(m.Payload)}
	switch m.Type {
	case "next":
		var p struct {
			Data   json.RawMessage `json:"data"`
			Errors []Error         `json:"errors"`
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil {
			r.Err = fmt.Errorf("decoding next: %w", err)
		}
		r.Data, r.Errors = p.Data, p.Errors
	case "error":
		if err := json.Unmarshal(m.Payload, &r.Errors); err != nil {
			r.Err = fmt.Errorf("decoding error: %w", err)
		} else {
			r.Err = fmt.Errorf("subscription error: %s", m.Payload)
		}
	case "complete":
		r.Complete = true
	}
	s.push(r, m.Type != "next")
}

func (s *Subscription) fail(err error) { s.push(Result{Err: err}, true) }

func (s *Subscription) push(r Result, last bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, r)
	s.ended = last
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Next returns the next result, waiting until one arrives or ctx ends.
func (s *Subscription) Next(ctx context.Context) (Result, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			r := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return r, nil
		}
		s.mu.Unlock()
		select {
		case <-s.signal:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
}

// Stop completes the subscription from the client's side.
func (s *Subscription) Stop(ctx context.Context) error {
	s.conn.mu.Lock()
	delete(s.conn.subs, s.id)
	s.conn.mu.Unlock()
	return s.conn.write(ctx, message{Type: "complete", ID: s.id})
}
