// Builds the console into internal/console/dist and copies GraphiQL's
// browser build into internal/console/graphiql, both embedded by the Go
// binary. Run through scripts/build-console (which runs npm ci first).
// Same inputs, same bytes: Vite names assets by content hash, and nothing
// here writes a date.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(root, "node_modules", ".bin", name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

// Types from schema.graphql: `gql.tada check` fails when a query asks for
// what the schema no longer has, tsc when the code uses a result or a
// variable the way the schema no longer allows.
run(bin("gql.tada"), ["generate", "output"]);
run(bin("gql.tada"), ["check"]);
run(bin("tsc"), ["--noEmit", "-p", "."]);
run(bin("vite"), ["build", "--logLevel", "warn"]);

const graphiql = join(root, "..", "internal", "console", "graphiql");
rmSync(graphiql, { recursive: true, force: true });
mkdirSync(graphiql, { recursive: true });
const nm = join(root, "node_modules");
for (const [from, to] of [
  ["graphiql/graphiql.min.js", "graphiql.min.js"],
  ["graphiql/graphiql.min.css", "graphiql.min.css"],
  ["graphiql/LICENSE", "LICENSE.graphiql"],
  ["react/umd/react.production.min.js", "react.production.min.js"],
  ["react/LICENSE", "LICENSE.react"],
  ["react-dom/umd/react-dom.production.min.js", "react-dom.production.min.js"],
  ["react-dom/LICENSE", "LICENSE.react-dom"],
]) {
  copyFileSync(join(nm, from), join(graphiql, to));
}
console.log("build-console: dist:", readdirSync(join(root, "..", "internal", "console", "dist", "assets")).join(", "));
