// Package console serves the web console, the single-page app built from
// console/ in the repository and embedded here (dist), at /console; the
// development sign-in that mints tokens outside production; and GraphiQL
// with its scripts embedded too (graphiql), so neither needs Node nor a CDN
// at run time. scripts/build-console rebuilds both directories.
package console
