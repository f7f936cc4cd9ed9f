package graph

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
)

// sendingFields are the Mutation fields that send mail, by name, as the
// schema marks them with @sends. An operation with them counts against the
// sending limits (rateLimit), and one of nothing but fields that take
// attachments may carry the larger request body (httpTransport).
type sendingFields map[string]sendingField

// sendingField is what @sends says of one field.
type sendingField struct {
	// each names the list argument whose elements count one message each;
	// "" counts the field as one message.
	each string
	// attachments is whether the field's arguments can hold an
	// AttachmentInput.
	attachments bool
}

// newSendingFields reads @sends from schema. It returns an error when the
// directive is on anything but a Mutation field, or its each names no list
// argument of the field.
func newSendingFields(schema *ast.Schema) (sendingFields, error) {
	out := sendingFields{}
	for _, def := range schema.Types {
		for _, f := range def.Fields {
			d := f.Directives.ForName("sends")
			if d == nil {
				continue
			}
			if def != schema.Mutation {
				return nil, fmt.Errorf("@sends on %s.%s: only Mutation fields send", def.Name, f.Name)
			}
			var s sendingField
			if arg := d.Arguments.ForName("each"); arg != nil && arg.Value != nil {
				s.each = arg.Value.Raw
				if a := f.Arguments.ForName(s.each); a == nil || a.Type.Elem == nil {
					return nil, fmt.Errorf("@sends(each: %q) on Mutation.%s: the field has no list argument %s", s.each, f.Name, s.each)
				}
			}
			for _, a := range f.Arguments {
				s.attachments = s.attachments || holdsAttachments(schema, a.Type, map[string]bool{})
			}
			out[f.Name] = s
		}
	}
	return out, nil
}

// holdsAttachments reports whether a value of type t can hold an
// AttachmentInput, in a list or an input object field at any depth; seen
// stops at input types already looked at.
func holdsAttachments(schema *ast.Schema, t *ast.Type, seen map[string]bool) bool {
	for t.Elem != nil {
		t = t.Elem
	}
	if t.NamedType == "AttachmentInput" {
		return true
	}
	if seen[t.NamedType] {
		return false
	}
	seen[t.NamedType] = true
	def := schema.Types[t.NamedType]
	if def == nil || def.Kind != ast.InputObject {
		return false
	}
	for _, f := range def.Fields {
		if holdsAttachments(schema, f.Type, seen) {
			return true
		}
	}
	return false
}

// maxCountedMessages caps the count of an operation's messages, far above
// any limit, so that counting cannot overflow.
const maxCountedMessages = 1 << 40

// messages returns how many messages a mutation may send: one for each
// sending field, or for one with each the elements of that list, aliases
// and fragments included, with vars (the operation's coerced variables)
// filling in lists given as variables. A field skipped by @skip or
// @include is counted all the same. Each fragment is counted once, however
// often it is spread, so the count takes time linear in the document.
func (s sendingFields) messages(op *ast.OperationDefinition, vars map[string]any) int {
	if op.Operation != ast.Mutation {
		return 0
	}
	c := messageCounter{sending: s, vars: vars, fragments: map[string]int{}}
	return c.count(op.SelectionSet)
}

// onlyAttachments reports whether op is a mutation of nothing but sending
// fields that take attachments.
func (s sendingFields) onlyAttachments(op *ast.OperationDefinition) bool {
	if op.Operation != ast.Mutation {
		return false
	}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || !s[f.Name].attachments {
			return false
		}
	}
	return true
}

type messageCounter struct {
	sending sendingFields
	vars    map[string]any
	// fragments memoises the count of each named fragment.
	fragments map[string]int
}

func (c *messageCounter) count(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if f, ok := c.sending[s.Name]; ok {
				n += c.field(s, f)
			}
		case *ast.InlineFragment:
			n += c.count(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			m, ok := c.fragments[s.Name]
			if !ok {
				// A cycle is refused by validation before this runs; the
				// placeholder stops one anyway.
				c.fragments[s.Name] = 0
				m = c.count(s.Definition.SelectionSet)
				c.fragments[s.Name] = m
			}
			n += m
		}
		n = min(n, maxCountedMessages)
	}
	return n
}

// field counts the messages of one sending field.
func (c *messageCounter) field(f *ast.Field, s sendingField) int {
	if s.each == "" {
		return 1
	}
	switch list := f.ArgumentMap(c.vars)[s.each].(type) {
	case []any:
		return len(list)
	case nil:
		return 0
	default:
		return 1 // a single element given for the list (input coercion)
	}
}
