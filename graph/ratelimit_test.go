package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestSendingFieldsComeFromTheSchema pins what @sends marks: the fields
// that count against the sending limits, how, and which may carry the
// larger body.
func TestSendingFieldsComeFromTheSchema(t *testing.T) {
	t.Parallel()
	sending, err := newSendingFields(NewExecutableSchema(Config{}).Schema())
	require.NoError(t, err)
	require.Equal(t, sendingFields{
		"sendNotification":          {attachments: true},
		"sendNotifications":         {each: "inputs", attachments: true},
		"resendMessage":             {},
		"testSenderSettings":        {},
		"requestSenderVerification": {},
		"resendSenderVerification":  {},
	}, sending)
}

func TestSendsMustFitItsField(t *testing.T) {
	t.Parallel()
	const common = `directive @sends(each: String) on FIELD_DEFINITION
		input A { filename: String! } input AttachmentInput { filename: String! }
		input Nested { inner: [Deeper!] } input Deeper { again: Nested, files: [AttachmentInput!] }
		type Query { q: Int }
		`
	tests := []struct {
		name, schema, err string
		want              sendingFields
	}{
		{"plain", `type Mutation { m(a: A): Int @sends n: Int }`, "", sendingFields{"m": {}}},
		{"each", `type Mutation { m(as: [A!]!): Int @sends(each: "as") }`, "", sendingFields{"m": {each: "as"}}},
		{"attachments at depth", `type Mutation { m(n: Nested): Int @sends }`, "", sendingFields{"m": {attachments: true}}},
		{"each names no argument", `type Mutation { m(as: [A!]!): Int @sends(each: "bs") }`, "no list argument bs", nil},
		{"each names no list", `type Mutation { m(a: A): Int @sends(each: "a") }`, "no list argument a", nil},
		{"not a mutation", `type Mutation { m: Int } type Subscription { s: Int @sends }`, "only Mutation fields send", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Input: common + tt.schema})
			require.Nil(t, gqlErr)
			got, err := newSendingFields(schema)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func testSendingFields(t *testing.T, schema *ast.Schema) sendingFields {
	t.Helper()
	s, err := newSendingFields(schema)
	require.NoError(t, err)
	return s
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
	sending := testSendingFields(t, schema)

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
			require.Equal(t, tt.want, sending.messages(op, tt.vars))
		})
	}
}

func TestSendsLooksIntoFragments(t *testing.T) {
	t.Parallel()
	schema := NewExecutableSchema(Config{}).Schema()
	sending := testSendingFields(t, schema)
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
		require.Equal(t, tt.want, sending.messages(op, nil) > 0, tt.query)
	}
}
