// Package outbox_test checks the import rules of the project over
// `go list -deps`: which package may import which. docs/architecture.md
// ("Which way dependencies point") says why each rule holds.
package outbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/outbox/outbox"

// A rule forbids packages matching from to import packages matching to.
// A transitive rule follows the project's own imports, so an import through
// another package of the project breaks it too; the others look at direct
// imports only (every importer of db imports db/dbsqlc through it, and every
// importer of the transport go-mail, by design).
type rule struct {
	id         string
	says       string
	from       func(path string) bool // the importing package (a test is its package's)
	to         func(path string) bool // the imported package
	transitive bool
	// tests says the rule covers test files too; otherwise only what the
	// package itself builds from.
	tests bool
}

var rules = []rule{
	{
		id:         "wiring-root",
		says:       "no package under internal/ but the wiring root internal/app imports graph or worker",
		from:       func(p string) bool { return within(p, "internal") && !within(p, "internal/app") },
		to:         func(p string) bool { return within(p, "graph") || within(p, "worker") },
		transitive: true,
		// A service's tests may run its jobs through worker.Register.
	},
	{
		id:    "api-no-rows",
		says:  "graph and worker do not import db/dbsqlc",
		from:  func(p string) bool { return within(p, "graph") || within(p, "worker") },
		to:    func(p string) bool { return within(p, "db/dbsqlc") },
		tests: true,
	},
	{
		id:    "transport-only-mail",
		says:  "only internal/transport imports go-mail",
		from:  func(p string) bool { return !within(p, "internal/transport") },
		to:    func(p string) bool { return p == goMail || strings.HasPrefix(p, goMail+"/") },
		tests: true,
	},
	{
		id:         "db-self-contained",
		says:       "db imports nothing of the project but the domain package internal/outbox",
		from:       func(p string) bool { return within(p, "db") },
		to:         func(p string) bool { return inProject(p) && !within(p, "db") && !within(p, "internal/outbox") },
		transitive: true,
	},
	{
		id:    "rows-in-db",
		says:  "no package outside db/ imports db/dbsqlc",
		from:  func(p string) bool { return !within(p, "db") },
		to:    func(p string) bool { return within(p, "db/dbsqlc") },
		tests: true,
	},
	{
		id:         "domain-leaf",
		says:       "the domain package internal/outbox imports nothing of the project",
		from:       func(p string) bool { return within(p, "internal/outbox") },
		to:         func(p string) bool { return inProject(p) && !within(p, "internal/outbox") },
		transitive: true,
		tests:      true,
	},
}

const goMail = "github.com/wneessen/go-mail"

// within reports whether path is the project's package rel or one below it.
func within(path, rel string) bool {
	p := module + "/" + rel
	return path == p || strings.HasPrefix(path, p+"/")
}

func inProject(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

// A node is one build of a project package: the package itself, the package
// with its in-package test files ("p [test]"), or its external test package
// ("p_test").
type node struct {
	name    string // how violations name it
	of      string // the import path of the package it belongs to
	test    bool
	imports []string
}

// graph is the project's packages by import path, plus their test builds.
type graph struct {
	pkgs  map[string]node // import path → the package as it builds
	tests []node
}

// A violation is one rule broken: From imports To.
type violation struct{ Rule, From, To string }

// A finding is a violation with its import chain, From first.
type finding struct {
	violation
	Chain []string
}

func (f finding) String() string {
	return fmt.Sprintf("%s: %s", f.Rule, strings.Join(f.Chain, " → "))
}

// check returns every violation of rules in g, sorted: for each node and
// rule, each forbidden package it reaches, by the shortest chain.
func check(g graph, rules []rule) []finding {
	var out []finding
	nodes := slices.Clone(g.tests)
	for _, n := range g.pkgs {
		nodes = append(nodes, n)
	}
	for _, r := range rules {
		for _, n := range nodes {
			if (n.test && !r.tests) || !r.from(n.of) {
				continue
			}
			out = append(out, reach(g, r, n)...)
		}
	}
	slices.SortFunc(out, func(a, b finding) int {
		return strings.Compare(a.Rule+" "+a.From+" "+a.To, b.Rule+" "+b.From+" "+b.To)
	})
	return out
}

// reach walks the imports of start breadth first (only its own for a direct
// rule) and returns one violation per forbidden package it reaches.
func reach(g graph, r rule, start node) []finding {
	var out []finding
	parent := map[string]string{}
	seen := map[string]bool{}
	queue := []string{""} // "" stands for start, whose imports come first
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		imports := start.imports
		if cur != "" {
			imports = g.pkgs[cur].imports
		}
		for _, imp := range imports {
			if seen[imp] || imp == start.of {
				continue
			}
			seen[imp] = true
			parent[imp] = cur
			if r.to(imp) {
				v := violation{Rule: r.id, From: start.name, To: short(imp)}
				out = append(out, finding{violation: v, Chain: chain(start.name, parent, imp)})
				continue
			}
			if _, ok := g.pkgs[imp]; ok && r.transitive {
				queue = append(queue, imp)
			}
		}
	}
	return out
}

func chain(from string, parent map[string]string, to string) []string {
	var c []string
	for p := to; p != ""; p = parent[p] {
		c = append(c, short(p))
	}
	c = append(c, from)
	slices.Reverse(c)
	return c
}

// short names a project package relative to the module.
func short(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// listPackage is what the test reads of `go list -json`.
type listPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// loadGraph lists the module's packages with their dependencies.
func loadGraph(t *testing.T) graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())
	g, err := parseGraph(out)
	require.NoError(t, err)
	require.Contains(t, g.pkgs, module+"/internal/app", "go list saw the project")
	return g
}

// parseGraph reads the stream of `go list -json` objects into a graph of
// the project's packages; other packages are left out, their imports kept.
func parseGraph(out []byte) (graph, error) {
	g := graph{pkgs: map[string]node{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return graph{}, fmt.Errorf("decoding go list output: %w", err)
		}
		if !inProject(p.ImportPath) {
			continue
		}
		name := short(p.ImportPath)
		g.pkgs[p.ImportPath] = node{name: name, of: p.ImportPath, imports: p.Imports}
		if len(p.TestImports) > 0 {
			g.tests = append(g.tests, node{name: name + " [test]", of: p.ImportPath, test: true, imports: p.TestImports})
		}
		if len(p.XTestImports) > 0 {
			g.tests = append(g.tests, node{name: name + "_test", of: p.ImportPath, test: true, imports: p.XTestImports})
		}
	}
	return g, nil
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	for _, v := range check(loadGraph(t), rules) {
		t.Errorf("%s (%s)", v, ruleSays(v.Rule))
	}
}

func ruleSays(id string) string {
	for _, r := range rules {
		if r.id == id {
			return r.says
		}
	}
	return "unknown rule"
}

// The checker over made-up packages: the intended layering passes, and
// each rule, broken, is reported with its chain.
func TestImportRulesCatchEachBreak(t *testing.T) {
	t.Parallel()
	// layered is the project as the rules want it, by relative path.
	layered := map[string][]string{
		"cmd/outbox":         {"internal/app"},
		"internal/app":       {"graph", "worker", "internal/delivery", "db"},
		"graph":              {"graph/model", "internal/delivery", "internal/outbox"},
		"graph/model":        {"internal/outbox"},
		"worker":             {"internal/delivery"},
		"internal/delivery":  {"internal/transport", "db", "internal/outbox"},
		"internal/transport": {goMail, "internal/outbox"},
		"internal/metrics":   {"github.com/prometheus/client_golang/prometheus"},
		"db":                 {"db/dbsqlc", "internal/outbox", "github.com/jackc/pgx/v5"},
		"db/dbsqlc":          {"github.com/jackc/pgx/v5"},
		"internal/outbox":    {"errors"},
	}
	tests := []struct {
		name    string
		change  map[string][]string // packages replaced or added
		xtests  map[string][]string // external test packages
		intests map[string][]string // in-package test files
		want    []string            // violations, as rule: chain
	}{
		{name: "the intended layering"},
		{
			name:   "a domain package imports graph",
			change: map[string][]string{"internal/delivery": {"graph/model", "db"}},
			want:   []string{"wiring-root: internal/delivery → graph/model"},
		},
		{
			name:   "a domain package reaches worker through another",
			change: map[string][]string{"internal/metrics": {"internal/app"}},
			want: []string{
				"wiring-root: internal/metrics → internal/app → graph",
				"wiring-root: internal/metrics → internal/app → worker",
			},
		},
		{
			name:   "a service's tests may run its jobs through worker",
			xtests: map[string][]string{"internal/delivery": {"worker", "internal/delivery"}},
		},
		{
			name:   "graph imports the rows",
			change: map[string][]string{"graph": {"db/dbsqlc", "internal/outbox"}},
			want:   []string{"api-no-rows: graph → db/dbsqlc", "rows-in-db: graph → db/dbsqlc"},
		},
		{
			name:    "a test of worker imports the rows",
			intests: map[string][]string{"worker": {"db/dbsqlc"}},
			want:    []string{"api-no-rows: worker [test] → db/dbsqlc", "rows-in-db: worker [test] → db/dbsqlc"},
		},
		{
			name:   "delivery imports go-mail",
			change: map[string][]string{"internal/delivery": {goMail + "/smtp", "internal/transport"}},
			want:   []string{"transport-only-mail: internal/delivery → " + goMail + "/smtp"},
		},
		{
			name:   "the transport's tests may use go-mail",
			xtests: map[string][]string{"internal/transport": {goMail, "internal/transport"}},
		},
		{
			name:   "db imports metrics",
			change: map[string][]string{"db": {"db/dbsqlc", "internal/metrics"}},
			want:   []string{"db-self-contained: db → internal/metrics"},
		},
		{
			name:   "the rows reach a service through the domain package",
			change: map[string][]string{"internal/outbox": {"internal/delivery"}},
			want: []string{
				"db-self-contained: db → internal/outbox → internal/delivery",
				"domain-leaf: internal/outbox → internal/delivery",
			},
		},
		{
			name:   "db's own tests may use the test tools",
			xtests: map[string][]string{"db": {"db", "internal/dbtest"}},
			change: map[string][]string{"internal/dbtest": {"db"}},
		},
		{
			name:   "a service imports the rows",
			change: map[string][]string{"internal/delivery": {"db/dbsqlc", "db"}},
			want:   []string{"rows-in-db: internal/delivery → db/dbsqlc"},
		},
		{
			name:   "the domain package imports the transport",
			change: map[string][]string{"internal/outbox": {"internal/transport"}},
			want: []string{
				"db-self-contained: db → internal/outbox → internal/transport",
				"domain-leaf: internal/outbox → internal/transport",
			},
		},
	}
	broken := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(synthetic(layered, tt.change, tt.intests, tt.xtests), rules)
			var lines []string
			for _, v := range got {
				lines = append(lines, v.String())
			}
			require.ElementsMatch(t, tt.want, lines)
		})
		for _, w := range tt.want {
			broken[strings.SplitN(w, ":", 2)[0]] = true
		}
	}
	for _, r := range rules {
		require.True(t, broken[r.id], "no case breaks rule %s", r.id)
	}
}

// synthetic builds a graph the way parseGraph would, from paths relative
// to the module (those starting with one of the project's top directories)
// and others (the standard library, modules).
func synthetic(base, change, intests, xtests map[string][]string) graph {
	abs := func(p string) string {
		if slices.Contains([]string{"cmd", "db", "graph", "internal", "worker"}, strings.SplitN(p, "/", 2)[0]) {
			return module + "/" + p
		}
		return p
	}
	absAll := func(ps []string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, abs(p))
		}
		return out
	}
	var list []listPackage
	pkgs := map[string][]string{}
	for p, imps := range base {
		pkgs[p] = imps
	}
	for p, imps := range change {
		pkgs[p] = imps
	}
	for p, imps := range pkgs {
		list = append(list, listPackage{ImportPath: abs(p), Imports: absAll(imps), TestImports: absAll(intests[p]), XTestImports: absAll(xtests[p])})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, p := range list {
		if err := enc.Encode(p); err != nil {
			panic(err)
		}
	}
	g, err := parseGraph(buf.Bytes())
	if err != nil {
		panic(err)
	}
	return g
}
