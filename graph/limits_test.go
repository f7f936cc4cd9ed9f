package graph

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"

	"github.com/outbox/outbox/graph/model"
)

// TestComplexityMatchesGqlgen: the memoised calculation gives gqlgen's
// numbers, the schema's per-field costs (a `first` multiplier) included.
func TestComplexityMatchesGqlgen(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.Complexity.Query.Messages = func(child int, _ *model.MessageFilter, first *int, _ *string) int {
		n := 50
		if first != nil {
			n = *first
		}
		return n * child
	}
	es := NewExecutableSchema(cfg)
	for _, q := range []string{
		`{ viewer { subject tenant { id name } } }`,
		`{ messages(first: 7) { edges { node { id to } } } }`,
		`query($n: Int) { messages(first: $n) { edges { node { id } } } }`,
		`fragment N on Message { id subject } { messages { edges { node { ...N } } } a: messages(first: 3) { edges { node { ...N ...N } } } }`,
		`{ __typename viewer { ... on Viewer { roles scopes } } }`,
	} {
		doc, err := gqlparser.LoadQueryWithRules(es.Schema(), q, nil)
		require.Nil(t, err, q)
		op := doc.Operations[0]
		vars := map[string]any{"n": 11}
		want := complexity.Calculate(context.Background(), es, op, vars)
		require.Equal(t, want, operationComplexity(context.Background(), es, op, vars), q)
	}
}

// TestFragmentBombIsCheap: 2^40 spreads cost 41 fragment walks.
func TestFragmentBombIsCheap(t *testing.T) {
	t.Parallel()
	es := NewExecutableSchema(Config{})
	var q strings.Builder
	q.WriteString("query { ...F0 }\n")
	for i := range 40 {
		fmt.Fprintf(&q, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	q.WriteString("fragment F40 on Query { viewer { tenant { id } } }\n")
	doc, err := gqlparser.LoadQueryWithRules(es.Schema(), q.String(), nil)
	require.Nil(t, err)
	start := time.Now()
	require.Equal(t, 3<<40, operationComplexity(context.Background(), es, doc.Operations[0], nil))
	w := depthWalker{max: 2, fragments: map[string]int{}}
	require.Equal(t, 3, w.depth(doc.Operations[0].SelectionSet))
	w = depthWalker{max: 10, fragments: map[string]int{}}
	require.Equal(t, 3, w.depth(doc.Operations[0].SelectionSet))
	require.Less(t, time.Since(start), 100*time.Millisecond)
}
