package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outbox/outbox/internal/outbox"
)

// Limits bound one rendering of a template (its subject, text and HTML
// together). Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// Timeout is the longest a rendering may take, parsing included. It is
	// the last line of defence behind the iteration and size budgets, which
	// bound the work anyway, so it is generous: a busy CPU must not fail a
	// legitimate template. It is checked at every write, every string
	// function and every {{range}} iteration, so a loop whose body only
	// compares large values stops at it too. Default 1s.
	Timeout time.Duration
	// MaxOutput is the largest rendered text or HTML body, in bytes, and
	// the most the string functions (print, printf, html, …) may produce
	// in one rendering, four times over. Default 1 MiB.
	MaxOutput int
	// MaxIterations is how many {{range}} iterations one rendering may run,
	// nested loops included. Default 100,000.
	MaxIterations int
}

// DefaultLimits returns the limits used where none are configured.
func DefaultLimits() Limits {
	return Limits{Timeout: time.Second, MaxOutput: 1 << 20, MaxIterations: 100_000}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = d.MaxOutput
	}
	if l.MaxIterations <= 0 {
		l.MaxIterations = d.MaxIterations
	}
	return l
}

// MaxSubjectRunes is the longest rendered subject, in characters.
const MaxSubjectRunes = 1000

// Rendered is a template rendered for one message.
type Rendered struct {
	// Subject is on one line: line breaks and other control characters in
	// it (from a variable, say) are turned into spaces.
	Subject string
	Text    string
	HTML    string
}

// Render renders t with vars, the variables of one message. Subject and text
// are text/template, HTML is html/template (values are escaped for their
// context). A variable the template uses but vars lacks is an error, except
// inside {{with index . "name"}}. It returns an EINVALID error: on
// "variables" when a variable is missing or of the wrong kind, on the part
// ("subject", "text", "html") when the template is invalid or breaks a limit.
func Render(t Template, vars map[string]any, limits Limits) (Rendered, error) {
	r := newRun(limits)
	p, err := prepare(t, r)
	if err != nil {
		return Rendered{}, err
	}
	return p.render(r, vars)
}

// Prepared is a template parsed, checked and escaped once, to render many
// messages: a batch of sendNotifications renders one template up to a
// thousand times, and parsing it each time would cost more than the
// rendering. Each Render has the budget of a Render of its own (Limits);
// parsing is charged to Prepare. A Prepared is not safe for concurrent
// use.
type Prepared struct {
	limits Limits
	parts  []*compiled
}

// Prepare parses t for Render calls under limits. It returns the errors of
// Render that do not depend on the variables: EINVALID on the part
// ("subject", "text", "html") that is invalid.
func Prepare(t Template, limits Limits) (*Prepared, error) {
	return prepare(t, newRun(limits))
}

func prepare(t Template, r *run) (*Prepared, error) {
	p := &Prepared{limits: r.limits}
	for _, part := range partsOf(t) {
		if part.src == "" {
			continue
		}
		c, err := compile(part, r)
		if err != nil {
			return nil, err
		}
		p.parts = append(p.parts, c)
	}
	return p, nil
}

// Render renders the prepared template with vars, as the function Render
// does with the template and limits given to Prepare, and fails in the
// same ways.
func (p *Prepared) Render(vars map[string]any) (Rendered, error) {
	return p.render(newRun(p.limits), vars)
}

func (p *Prepared) render(r *run, vars map[string]any) (Rendered, error) {
	data := normalize(vars)
	var out Rendered
	for _, c := range p.parts {
		s, err := c.execute(r, data)
		if err != nil {
			return Rendered{}, err
		}
		switch c.part.field {
		case "subject":
			out.Subject = oneLine(s)
		case "text":
			out.Text = s
		case "html":
			out.HTML = s
		}
	}
	if out.Subject == "" {
		return Rendered{}, outbox.Invalid("subject", "the subject renders empty")
	}
	if n := utf8.RuneCountInString(out.Subject); n > MaxSubjectRunes {
		return Rendered{}, outbox.Invalid("subject", "the rendered subject has %d characters; the limit is %d", n, MaxSubjectRunes)
	}
	return out, nil
}

// run is the state of one rendering: its budget and the first limit broken.
type run struct {
	limits     Limits
	deadline   time.Time
	iterations int
	produced   int
	err        error
	// dry is set while compile executes an HTML template only to have it
	// escaped: loops and functions stop it at once and charge nothing.
	dry bool
}

// errDry stops a dry execution.
var errDry = errors.New("dry run")

func newRun(limits Limits) *run {
	limits = limits.withDefaults()
	return &run{limits: limits, deadline: time.Now().Add(limits.Timeout)}
}

// fail records the first limit broken and returns it.
func (r *run) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

func (r *run) checkTime() error {
	if r.err != nil {
		return r.err
	}
	if time.Now().After(r.deadline) {
		return r.fail(fmt.Errorf("rendering took longer than %s: simplify the template", r.limits.Timeout))
	}
	return nil
}

// guardFunc is the function that compile appends to every {{range}}
// pipeline, so that a loop is paid for before it runs.
const guardFunc = "_outboxRange"

// tickFunc is the function compile calls at the start of every {{range}}
// iteration (as {{if _outboxTick}}{{end}}, which writes nothing in any
// context), so that the time budget holds inside a loop whose body writes
// nothing but compares or indexes large values.
const tickFunc = "_outboxTick"

// tick checks the time budget once per loop iteration.
func (r *run) tick() (bool, error) {
	if r.dry {
		return false, errDry
	}
	return false, r.checkTime()
}

// rangeGuard charges the iterations a {{range}} is about to run to the
// budget and passes its value through unchanged.
func (r *run) rangeGuard(v reflect.Value) (reflect.Value, error) {
	if r.dry {
		return v, errDry
	}
	if err := r.checkTime(); err != nil {
		return v, err
	}
	iv := v
	for iv.IsValid() && (iv.Kind() == reflect.Interface || iv.Kind() == reflect.Pointer) && !iv.IsNil() {
		iv = iv.Elem()
	}
	n := 0
	switch iv.Kind() {
	case reflect.Array, reflect.Slice, reflect.Map, reflect.String:
		n = iv.Len()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = int(max(0, min(iv.Int(), int64(r.limits.MaxIterations)+1)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n = int(min(iv.Uint(), uint64(r.limits.MaxIterations)+1))
	case reflect.Func, reflect.Chan:
		return v, r.fail(errors.New("range over a function or channel is not allowed"))
	}
	r.iterations += n
	if r.iterations > r.limits.MaxIterations {
		return v, r.fail(fmt.Errorf("the template loops more than %d times in one message", r.limits.MaxIterations))
	}
	return v, nil
}

// produce charges a string a function made to the budget.
func (r *run) produce(s string) (string, error) {
	if r.dry {
		return "", errDry
	}
	if err := r.checkTime(); err != nil {
		return "", err
	}
	r.produced += len(s)
	if len(s) > r.limits.MaxOutput || r.produced > 4*r.limits.MaxOutput {
		return "", r.fail(fmt.Errorf("the template builds strings larger than %d bytes", r.limits.MaxOutput))
	}
	return s, nil
}

// binding is the run a compiled part's functions charge. A part is
// compiled once with its functions bound to the binding, and the run is set
// before each execution (Prepared renders many messages with one
// compilation, each with a budget of its own).
type binding struct{ r *run }

// funcs are the functions of every template: the string builtins replaced by
// size-checked ones (so a loop cannot double a string until memory runs
// out), call removed, and the range guard. They charge the binding's
// current run.
func (b *binding) funcs() map[string]any {
	return map[string]any{
		guardFunc: func(v reflect.Value) (reflect.Value, error) { return b.r.rangeGuard(v) },
		tickFunc:  func() (bool, error) { return b.r.tick() },
		"print":   func(args ...any) (string, error) { return b.r.produce(fmt.Sprint(args...)) },
		"println": func(args ...any) (string, error) { return b.r.produce(fmt.Sprintln(args...)) },
		"printf": func(format string, args ...any) (string, error) {
			r := b.r
			if r.dry {
				return "", errDry
			}
			if err := checkFormat(format); err != nil {
				return "", r.fail(err)
			}
			return r.produce(fmt.Sprintf(format, args...))
		},
		"html":     func(args ...any) (string, error) { return b.r.produce(texttemplate.HTMLEscaper(args...)) },
		"js":       func(args ...any) (string, error) { return b.r.produce(texttemplate.JSEscaper(args...)) },
		"urlquery": func(args ...any) (string, error) { return b.r.produce(texttemplate.URLQueryEscaper(args...)) },
		"call": func(...any) (any, error) {
			r := b.r
			if r.dry {
				return nil, errDry
			}
			return nil, r.fail(errors.New("call is not available in templates"))
		},
	}
}

// maxFormatWidth bounds widths and precisions in printf formats: fmt allows
// up to a million, which a format with many verbs would turn into a huge
// string before any limit could see it.
const maxFormatWidth = 1000

// checkFormat refuses printf formats with a width or precision above
// maxFormatWidth, or taken from an argument ("*").
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		for i < len(format) {
			c := format[i]
			switch {
			case c == '*':
				return errors.New("printf: a width or precision from an argument (*) is not allowed")
			case c >= '0' && c <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				if n, err := strconv.Atoi(format[i:j]); err != nil || n > maxFormatWidth {
					return fmt.Errorf("printf: widths and precisions above %d are not allowed", maxFormatWidth)
				}
				i = j
				continue
			case c == '.' || c == '[' || c == ']':
				i++
				continue
			}
			break
		}
	}
	return nil
}

// capWriter collects a part's output up to max bytes, checking the deadline
// as it goes.
type capWriter struct {
	r     *run
	field string
	max   int
	b     strings.Builder
}

func (w *capWriter) Write(p []byte) (int, error) {
	if err := w.r.checkTime(); err != nil {
		return 0, err
	}
	if w.b.Len()+len(p) > w.max {
		return 0, w.r.fail(fmt.Errorf("the rendered %s is larger than %d bytes", w.field, w.max))
	}
	return w.b.Write(p)
}

// compiled is one part parsed, checked and guarded, ready to execute (once
// per run bound to it).
type compiled struct {
	part part
	bind *binding
	text *texttemplate.Template
	html *htmltemplate.Template
}

// compile parses one part with functions bound to r, refuses {{define}},
// {{template}} and {{block}}, and guards every {{range}}. Errors are
// EINVALID on the part's field, naming the line.
func compile(p part, r *run) (*compiled, error) {
	c := &compiled{part: p, bind: &binding{r: r}}
	var tree *parse.Tree
	var count int
	if p.html {
		t, err := htmltemplate.New(p.field).Option("missingkey=error").Funcs(c.bind.funcs()).Parse(p.src)
		if err != nil {
			return nil, templateError(p.field, err)
		}
		c.html, tree, count = t, t.Tree, len(t.Templates())
	} else {
		t, err := texttemplate.New(p.field).Option("missingkey=error").Funcs(c.bind.funcs()).Parse(p.src)
		if err != nil {
			return nil, templateError(p.field, err)
		}
		c.text, tree, count = t, t.Tree, len(t.Templates())
	}
	if count > 1 {
		return nil, outbox.Invalid(p.field, "{{define}} and {{block}} are not allowed in templates")
	}
	if tree == nil || tree.Root == nil {
		return c, nil
	}
	if err := guardTree(p.field, tree, tree.Root); err != nil {
		return nil, err
	}
	if p.html {
		// html/template escapes on the first execution; do it now, on no
		// data and with nothing written, so that an escaping error is a
		// template error and not a failed send.
		r.dry = true
		err := c.html.Execute(discard{}, nil)
		r.dry = false
		if err != nil {
			var escErr *htmltemplate.Error
			if errors.As(err, &escErr) && escErr.ErrorCode != htmltemplate.ErrNoSuchTemplate {
				line := escErr.Line
				if line == 0 && escErr.Node != nil {
					line = lineOf(tree, escErr.Node)
				}
				// Drop html/template's dump of its internal contexts.
				desc, _, _ := strings.Cut(escErr.Description, ": {")
				return nil, outbox.Invalid(p.field, "line %d: %s", line, desc)
			}
		}
	}
	return c, nil
}

// discard is an io.Writer that fails at once, so that the escaping run of
// compile stops at the first output.
type discard struct{}

func (discard) Write([]byte) (int, error) { return 0, errors.New("discarded") }

// guardTree walks the nodes under n: it appends the range guard to every
// {{range}} pipeline, starts every {{range}} body with the tick, and refuses
// {{template}} (and so {{block}}).
func guardTree(field string, tree *parse.Tree, n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, child := range n.Nodes {
			if err := guardTree(field, tree, child); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return guardBranch(field, tree, &n.BranchNode)
	case *parse.WithNode:
		return guardBranch(field, tree, &n.BranchNode)
	case *parse.RangeNode:
		cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pipe.Pos}
		cmd.Args = []parse.Node{parse.NewIdentifier(guardFunc).SetTree(tree).SetPos(n.Pipe.Pos)}
		n.Pipe.Cmds = append(n.Pipe.Cmds, cmd)
		if err := guardBranch(field, tree, &n.BranchNode); err != nil {
			return err
		}
		if n.List != nil {
			n.List.Nodes = slices.Insert(n.List.Nodes, 0, tickNode(tree, n.Pos, n.Line))
		}
		return nil
	case *parse.TemplateNode:
		return outbox.Invalid(field, "line %d: {{template}} and {{block}} are not allowed in templates", lineOf(tree, n))
	}
	return nil
}

// tickNode is {{if _outboxTick}}{{end}}: an if writes nothing, and
// html/template adds no escapers to its pipeline.
func tickNode(tree *parse.Tree, pos parse.Pos, line int) parse.Node {
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos}
	cmd.Args = []parse.Node{parse.NewIdentifier(tickFunc).SetTree(tree).SetPos(pos)}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Line: line, Cmds: []*parse.CommandNode{cmd}}
	return &parse.IfNode{BranchNode: parse.BranchNode{
		NodeType: parse.NodeIf, Pos: pos, Line: line, Pipe: pipe,
		List: &parse.ListNode{NodeType: parse.NodeList, Pos: pos},
	}}
}

func guardBranch(field string, tree *parse.Tree, b *parse.BranchNode) error {
	if err := guardTree(field, tree, b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return guardTree(field, tree, b.ElseList)
	}
	return nil
}

func lineOf(tree *parse.Tree, n parse.Node) int {
	loc, _ := tree.ErrorContext(n)
	// loc is "name:line:col".
	parts := strings.Split(loc, ":")
	if len(parts) >= 2 {
		if line, err := strconv.Atoi(parts[len(parts)-2]); err == nil {
			return line
		}
	}
	return 0
}

// execute runs the part once into a capped buffer, charging r.
func (c *compiled) execute(r *run, data map[string]any) (string, error) {
	c.bind.r = r
	w := &capWriter{r: r, field: c.part.field, max: r.limits.MaxOutput}
	if c.part.field == "subject" {
		w.max = MaxSubjectSource * 4
	}
	var err error
	if c.html != nil {
		err = c.html.Execute(w, data)
	} else {
		err = c.text.Execute(w, data)
	}
	if r.err != nil {
		return "", outbox.Invalid(c.part.field, "%s", r.err.Error())
	}
	if err != nil {
		return "", execError(c.part.field, err)
	}
	return w.b.String(), nil
}

// templateErrorRE matches text/template's error prefix: "template: NAME:LINE:"
// with an optional column, then the message.
var templateErrorRE = regexp.MustCompile(`(?s)^template: [^:]*:(\d+):(?:\d+:)?\s*(.*)$`)

// templateError turns a parse error into EINVALID on field, naming the line.
func templateError(field string, err error) error {
	if m := templateErrorRE.FindStringSubmatch(err.Error()); m != nil {
		return outbox.Invalid(field, "line %s: %s", m[1], m[2])
	}
	return outbox.Invalid(field, "%s", strings.TrimPrefix(err.Error(), "template: "))
}

var (
	// execContextRE strips `executing "NAME" at <…>: ` from an execution
	// error, leaving what went wrong.
	execContextRE = regexp.MustCompile(`^executing "[^"]*" at <(.*?)>: (.*)$`)
	missingKeyRE  = regexp.MustCompile(`map has no entry for key "([^"]*)"`)
)

// execError turns an execution error into EINVALID: on "variables" when the
// data lacks a key or has the wrong shape, since the template itself parsed.
func execError(field string, err error) error {
	var line, what, at string
	if m := templateErrorRE.FindStringSubmatch(err.Error()); m != nil {
		line, what = m[1], m[2]
	} else {
		what = strings.TrimPrefix(err.Error(), "template: ")
	}
	if m := execContextRE.FindStringSubmatch(what); m != nil {
		at, what = m[1], m[2]
	}
	if m := missingKeyRE.FindStringSubmatch(what); m != nil {
		return outbox.Invalid("variables", "the %s template uses %q (line %s) but the variables have no %q; "+
			`for an optional variable write {{with index . %q}}…{{end}}`, field, at, line, m[1], m[1])
	}
	return outbox.Invalid("variables", "the %s template could not use the variables at line %s (%s): %s", field, line, at, what)
}

// oneLine turns every run of white space and control characters into one
// space and trims the ends: a subject is one header line.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, c := range s {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(c)
	}
	return b.String()
}

// normalize returns a copy of vars that templates handle well: JSON numbers
// become int64 (when whole) or float64, so that comparisons like
// {{if gt .total 100}} work, and nested maps and lists are copied too.
func normalize(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		out[k] = normalizeValue(v)
	}
	return out
}

func normalizeValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case float64:
		if v == float64(int64(v)) && v < 1<<53 && v > -(1<<53) {
			return int64(v)
		}
		return v
	case int:
		return int64(v)
	case map[string]any:
		return normalize(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizeValue(e)
		}
		return out
	}
	return v
}
