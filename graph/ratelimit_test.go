package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

func TestSendingFieldsAreMutations(t *testing.T) {
	t.Parallel()
	schema := NewExecutableSchema(Config{}).Schema()
	for name := range sendingFields {
		require.NotNil(t, schema.Mutation.Fields.ForName(name), "sendingFields names %s, which is not a Mutation field", name)
	}
}

func TestSendsLooksIntoFragments(t *testing.T) {
	t.Parallel()
	schema := NewExecutableSchema(Config{}).Schema()
	tests := []struct {
		query string
		want  bool
	}{
		{`mutation { useDefaultSender { mode } }`, false},
		{`mutation { useDefaultSender { mode } a: sendNotification(input: {to: ["x@example.com"], subject: "s", text: "t"}) { id } }`, true},
		{`mutation { ... on Mutation { resendMessage(id: "1") { id } } }`, true},
		{`mutation { ...F } fragment F on Mutation { testSenderSettings(input: {mode: PLATFORM, testRecipient: "x@example.com"}) { id } }`, true},
		{`mutation { ...F } fragment F on Mutation { removeSuppression(email: "x@example.com") }`, false},
	}
	for _, tt := range tests {
		doc, errs := gqlparser.LoadQuery(schema, tt.query)
		require.Nil(t, errs, tt.query)
		op := doc.Operations[0]
		require.Equal(t, ast.Mutation, op.Operation)
		require.Equal(t, tt.want, sends(op.SelectionSet), tt.query)
	}
}
