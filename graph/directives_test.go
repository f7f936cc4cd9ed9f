package graph

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestEveryRootFieldDeclaresItsAccess guards against an operation added to
// the schema without an authorization rule: each Query, Mutation and
// Subscription field carries @requires (with or without a permission) or
// is explicitly @public.
func TestEveryRootFieldDeclaresItsAccess(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../schema.graphql")
	require.NoError(t, err)
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(src)})
	require.Nil(t, gqlErr)

	public := map[string]bool{}
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		require.NotNil(t, root)
		for _, f := range root.Fields {
			if f.Name == "__schema" || f.Name == "__type" || f.Name == "__typename" {
				continue
			}
			req, pub := f.Directives.ForName("requires"), f.Directives.ForName("public")
			require.True(t, (req != nil) != (pub != nil), "%s.%s needs exactly one of @requires or @public", root.Name, f.Name)
			if pub != nil {
				public[root.Name+"."+f.Name] = true
			}
		}
	}
	require.Equal(t, map[string]bool{"Mutation.verifySender": true}, public, "only verifySender needs no token")
}
