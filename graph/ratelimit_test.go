package graph

import (
	"fmt"
	"strings"
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

func TestMessagesOfAnOperation(t *testing.T) {
	t.Parallel()
	schema := NewExecutableSchema(Config{}).Schema()
	one := `{to: ["x@example.com"], subject: "s", text: "t"}`
	three := "[" + one + "," + one + "," + one + "]"
	var aliased strings.Builder
	aliased.WriteString("mutation($in: [SendNotificationInput!]!) {")
	for i := range 10 {
		fmt.Fprintf(&aliased, " a%d: sendNotifications(inputs: $in) { id }", i)
	}
	aliased.WriteString(" }")
	// A chain of fragments that doubles at each step: counted once per
	// fragment, not once per expansion.
	var chain strings.Builder
	chain.WriteString("mutation { ...F0 }")
	for i := range 25 {
		fmt.Fprintf(&chain, " fragment F%d on Mutation { ...F%d ... on Mutation { ...F%d } }", i, i+1, i+1)
	}
	chain.WriteString(" fragment F25 on Mutation { resendMessage(id: \"1\") { id } }")

	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  int
	}{
		{"no sending field", `mutation { useDefaultSender { mode } }`, nil, 0},
		{"one notification", `mutation { sendNotification(input: ` + one + `) { id } }`, nil, 1},
		{"a literal list", `mutation { sendNotifications(inputs: ` + three + `) { id } }`, nil, 3},
		{"a list in a variable", `mutation($in: [SendNotificationInput!]!) { sendNotifications(inputs: $in) { id } }`,
			map[string]any{"in": []any{map[string]any{}, map[string]any{}}}, 2},
		{"10 aliases of 4", aliased.String(), map[string]any{"in": []any{1, 2, 3, 4}}, 40},
		{"fields in fragments", `mutation { ...F ... on Mutation { b: sendNotifications(inputs: ` + three + `) { id } } }
			fragment F on Mutation { a: sendNotifications(inputs: ` + three + `) { id } resendMessage(id: "1") { id } }`, nil, 7},
		{"tests and verifications", `mutation { testSenderSettings(input: {mode: PLATFORM, testRecipient: "x@example.com"}) { id }
			requestSenderVerification(email: "x@example.com") { id } resendSenderVerification(id: "1") { id } }`, nil, 3},
		{"doubling fragments", chain.String(), nil, 1 << 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, errs := gqlparser.LoadQuery(schema, tt.query)
			require.Nil(t, errs, tt.query)
			op := doc.Operations[0]
			require.Equal(t, ast.Mutation, op.Operation)
			require.Equal(t, tt.want, messages(op, tt.vars))
		})
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
		require.Equal(t, tt.want, messages(op, nil) > 0, tt.query)
	}
}
