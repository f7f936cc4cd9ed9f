package console

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql/playground"
)

// graphiqlFiles are GraphiQL's and React's browser builds from npm,
// copied by scripts/build-console, so /graphiql works offline.
//
//go:embed graphiql
var graphiqlFiles embed.FS

// GraphiQLAssets is the path GraphiQL's scripts and styles are served under.
const GraphiQLAssets = "/graphiql/assets/"

// GraphiQL returns the handler of GET /graphiql, GraphiQL for endpoint
// with its scripts and styles from this binary (each with its subresource
// integrity), and of GET /graphiql/assets/, those files. It panics when
// a file is missing from the embedded build, which a test catches.
func GraphiQL(endpoint string) http.Handler {
	files, err := fs.Sub(graphiqlFiles, "graphiql")
	if err != nil {
		panic(err)
	}
	sri := func(name string) string {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			panic("console: GraphiQL asset " + name + " is not embedded: run scripts/build-console")
		}
		sum := sha256.Sum256(b)
		return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	url := func(name string) string { return GraphiQLAssets + name }
	page := playground.Handler("Outbox GraphiQL", endpoint,
		playground.WithGraphiqlVersion(url("graphiql.min.js"), url("graphiql.min.css"), sri("graphiql.min.js"), sri("graphiql.min.css")),
		playground.WithGraphiqlReactVersion(url("react.production.min.js"), url("react-dom.production.min.js"),
			sri("react.production.min.js"), sri("react-dom.production.min.js")),
		playground.WithGraphiqlEnablePluginExplorer(false),
	)
	static := http.StripPrefix(strings.TrimSuffix(GraphiQLAssets, "/"), http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, GraphiQLAssets) {
			w.Header().Set("Cache-Control", "public, max-age=86400")
			static.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}
