package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// dist is the console as Vite built it: index.html and, under assets/,
// files whose names carry a hash of their content.
//
//go:embed all:dist
var dist embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Options configure the console's handler.
type Options struct {
	// DevSignIn, when not nil, serves the development sign-in's token
	// endpoint under /console/dev/; nil (production) leaves it out, so the
	// console asks the embedding platform for a token instead.
	DevSignIn *DevSignIn
}

// Handler returns the console's handler for GET and HEAD under /console/
// (and /console, redirected there): the built files, index.html for every
// other path without a file extension (the app's own routes), 404 for a
// missing file. Hashed assets may be cached for good; index.html must be
// revalidated so a new build is picked up at once.
func Handler(opts Options) http.Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	static := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console" {
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
			return
		}
		rel := strings.TrimPrefix(r.URL.Path, Prefix)
		if rel == "dev" || strings.HasPrefix(rel, "dev/") {
			if opts.DevSignIn == nil {
				http.NotFound(w, r)
				return
			}
			opts.DevSignIn.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if rel != "" && rel != "index.html" && exists(files, rel) {
			if strings.HasPrefix(rel, "assets/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache")
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + rel
			static.ServeHTTP(w, r2)
			return
		}
		if path.Ext(rel) != "" {
			http.NotFound(w, r)
			return
		}
		index(w, r, files)
	})
}

// index serves index.html, the answer to every route of the app.
func index(w http.ResponseWriter, r *http.Request, files fs.FS) {
	b, err := fs.ReadFile(files, "index.html")
	if err != nil {
		http.Error(w, "the console is not built: run scripts/build-console", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b) //nolint:errcheck // a failed write has no one to tell
}

func exists(files fs.FS, name string) bool {
	st, err := fs.Stat(files, name)
	return err == nil && !st.IsDir()
}
