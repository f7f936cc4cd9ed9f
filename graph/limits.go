package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// maxFieldRepeats is how often one response name may occur in a selection
// set.
// Validation compares the fields sharing a name pairwise, so thousands of
// `__typename` would cost seconds; real operations repeat a name a few
// times.
const maxFieldRepeats = 100

// repeatLimit refuses, before gqlgen validates a document, one with a
// selection set that repeats a response name more than maxFieldRepeats
// times (BAD_REQUEST). It parses
// with the same token limit as the executor, so its cost is bounded too; a
// document that does not parse is left to the executor to report.
type repeatLimit struct{ tokens int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = repeatLimit{}

func (repeatLimit) ExtensionName() string                   { return "RepeatLimit" }
func (repeatLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l repeatLimit) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, l.tokens)
	if err != nil {
		return nil
	}
	r := repeatCounter{fragments: doc.Fragments}
	ok := true
	for _, op := range doc.Operations {
		ok = ok && r.fewRepeats(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		ok = ok && r.fewRepeats(f.SelectionSet)
	}
	if !ok {
		return badRequest(ctx, "a selection repeats a field more than %d times", maxFieldRepeats)
	}
	return nil
}

// repeatCounter counts response names per selection set as validation
// merges them: the set's fields, those of its inline fragments, and those
// of every fragment it reaches through spreads, each fragment once.
type repeatCounter struct{ fragments ast.FragmentDefinitionList }

// fewRepeats reports whether no response name occurs more than
// maxFieldRepeats times in set or in any set below it.
func (r repeatCounter) fewRepeats(set ast.SelectionSet) bool {
	counts := map[string]int{}
	seen := map[string]bool{}
	var count func(ast.SelectionSet) bool
	count = func(set ast.SelectionSet) bool {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				if counts[name]++; counts[name] > maxFieldRepeats {
					return false
				}
			case *ast.InlineFragment:
				if !count(s.SelectionSet) {
					return false
				}
			case *ast.FragmentSpread:
				if f := r.fragments.ForName(s.Name); f != nil && !seen[s.Name] {
					seen[s.Name] = true
					if !count(f.SelectionSet) {
						return false
					}
				}
			}
		}
		return true
	}
	if !count(set) {
		return false
	}
	// Sub-selections are sets of their own (fragments are checked apart).
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) > 0 && !r.fewRepeats(s.SelectionSet) {
				return false
			}
		case *ast.InlineFragment:
			if !r.fewRepeats(s.SelectionSet) {
				return false
			}
		}
	}
	return true
}

// depthLimit refuses, before execution, an operation whose selections nest
// deeper than max (fragments included), with extensions.code
// DEPTH_LIMIT_EXCEEDED. Each fragment's depth is computed once, so spreading
// a fragment many times costs nothing more.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := depthWalker{max: d.max, fragments: map[string]int{}}
	if depth := w.depth(oc.Operation.SelectionSet); depth > d.max {
		err := gqlerror.Errorf("operation is nested more than %d levels deep", d.max)
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

type depthWalker struct {
	max int
	// fragments holds each fragment's depth once known; -1 while it is
	// being walked (a cycle, which validation has refused already, counts
	// as too deep).
	fragments map[string]int
}

// depth returns how deep set nests, or a number past max as soon as it is
// clear that it does.
func (w depthWalker) depth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = 1
			if len(s.SelectionSet) > 0 {
				d = 1 + w.depth(s.SelectionSet)
			}
		case *ast.InlineFragment:
			d = w.depth(s.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(s)
		}
		if d > deepest {
			deepest = d
		}
		if deepest > w.max {
			return deepest
		}
	}
	return deepest
}

func (w depthWalker) fragment(s *ast.FragmentSpread) int {
	if s.Definition == nil {
		return 0
	}
	if d, ok := w.fragments[s.Name]; ok {
		if d < 0 {
			return w.max + 1
		}
		return d
	}
	w.fragments[s.Name] = -1
	d := w.depth(s.Definition.SelectionSet)
	w.fragments[s.Name] = d
	return d
}

// complexityLimit refuses, before execution, an operation whose complexity
// passes max, with extensions.code COMPLEXITY_LIMIT_EXCEEDED. It computes
// what gqlgen's complexity package does (the schema's per-field costs,
// otherwise 1 per field plus its children) but each fragment only once, so
// a fragment spread 2^25 times is refused at once instead of expanded.
type complexityLimit struct {
	max int
	es  graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &complexityLimit{}

func (*complexityLimit) ExtensionName() string { return "ComplexityLimit" }

func (c *complexityLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

func (c *complexityLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if n := operationComplexity(ctx, c.es, oc.Operation, oc.Variables); n > c.max {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", n, c.max)
		err.Extensions = map[string]any{"code": "COMPLEXITY_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// operationComplexity returns the complexity of op as gqlgen's
// complexity.Calculate does, memoising fragment spreads.
func operationComplexity(ctx context.Context, es graphql.ExecutableSchema, op *ast.OperationDefinition, vars map[string]any) int {
	w := complexityWalker{es: es, schema: es.Schema(), vars: vars, fragments: map[string]int{}}
	return w.selectionSet(ctx, op.SelectionSet)
}

type complexityWalker struct {
	es        graphql.ExecutableSchema
	schema    *ast.Schema
	vars      map[string]any
	fragments map[string]int
}

func (w complexityWalker) selectionSet(ctx context.Context, set ast.SelectionSet) int {
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total = safeAdd(total, w.field(ctx, s))
		case *ast.InlineFragment:
			total = safeAdd(total, w.selectionSet(ctx, s.SelectionSet))
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			n, ok := w.fragments[s.Name]
			if !ok {
				w.fragments[s.Name] = maxInt // a cycle costs the most
				n = w.selectionSet(ctx, s.Definition.SelectionSet)
				w.fragments[s.Name] = n
			}
			total = safeAdd(total, n)
		}
	}
	return total
}

func (w complexityWalker) field(ctx context.Context, f *ast.Field) int {
	if f.Definition == nil || f.ObjectDefinition == nil {
		return 1
	}
	typ := w.schema.Types[f.Definition.Type.Name()]
	if typ == nil || typ.Name == "__Schema" {
		return 0
	}
	children := 0
	switch typ.Kind {
	case ast.Object, ast.Interface, ast.Union:
		children = w.selectionSet(ctx, f.SelectionSet)
	}
	args := f.ArgumentMap(w.vars)
	if f.ObjectDefinition.Kind != ast.Interface {
		return w.fieldCost(ctx, f.ObjectDefinition.Name, f.Name, children, args)
	}
	// An interface's field costs what its most expensive implementation's does.
	most := 0
	for _, t := range w.schema.GetPossibleTypes(f.ObjectDefinition) {
		most = max(most, w.fieldCost(ctx, t.Name, f.Name, children, args))
	}
	return most
}

func (w complexityWalker) fieldCost(ctx context.Context, typeName, field string, children int, args map[string]any) int {
	if n, ok := w.es.Complexity(ctx, typeName, field, children, args); ok && n >= 1 {
		return n
	}
	return safeAdd(1, children)
}

const maxInt = int(^uint(0) >> 1)

// safeAdd adds without overflowing and ignores negative operands, as gqlgen
// does, so that no query can wrap its complexity around to a small number.
func safeAdd(a, b int) int {
	switch {
	case a < 0 && b < 0:
		return 1
	case a < 0:
		return b
	case b < 0:
		return a
	}
	if c := a + b; c >= a {
		return c
	}
	return maxInt
}

// noIntrospection refuses, in production, operations that select __schema
// or __type with a BAD_REQUEST saying so (gqlgen would answer an internal
// error from inside execution).
type noIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = noIntrospection{}

func (noIntrospection) ExtensionName() string                   { return "NoIntrospection" }
func (noIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

func (noIntrospection) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	seen := map[string]bool{}
	var introspects func(ast.SelectionSet) bool
	introspects = func(set ast.SelectionSet) bool {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if s.Name == "__schema" || s.Name == "__type" || introspects(s.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if introspects(s.SelectionSet) {
					return true
				}
			case *ast.FragmentSpread:
				if !seen[s.Name] && s.Definition != nil {
					seen[s.Name] = true
					if introspects(s.Definition.SelectionSet) {
						return true
					}
				}
			}
		}
		return false
	}
	if introspects(oc.Operation.SelectionSet) {
		return badRequest(ctx, "introspection is disabled on this server")
	}
	return nil
}
