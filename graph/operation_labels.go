package graph

import "github.com/vektah/gqlparser/v2/ast"

// operationLabels names operations for metrics with values the schema
// fixes, never the client: the operation's root field when it selects
// exactly one (aliases and __typename aside), else "other".
type operationLabels struct{ fields map[string]bool }

func newOperationLabels(schema *ast.Schema) operationLabels {
	l := operationLabels{fields: map[string]bool{}}
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if !isMetaField(f.Name) {
				l.fields[f.Name] = true
			}
		}
	}
	return l
}

// of returns the type label (query, mutation, subscription or unknown) and
// the operation label of op, which may be nil (a request that did not parse).
func (l operationLabels) of(op *ast.OperationDefinition) (opType, name string) {
	if op == nil {
		return "unknown", "other"
	}
	switch op.Operation {
	case ast.Query, ast.Mutation, ast.Subscription:
		opType = string(op.Operation)
	default:
		opType = "unknown"
	}
	seen := ""
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		switch {
		case !ok:
			return opType, "other"
		case isMetaField(f.Name):
		case seen == "" || seen == f.Name:
			seen = f.Name
		default:
			return opType, "other"
		}
	}
	if !l.fields[seen] {
		return opType, "other"
	}
	return opType, seen
}

func isMetaField(name string) bool { return len(name) > 1 && name[:2] == "__" }
