import { initGraphQLTada } from "gql.tada";
import type { introspection } from "./graphql-env.d.ts";

// graphql is the typed document function: the types of every query come
// from schema.graphql (through graphql-env.d.ts, which `npm run gen`
// writes), so a schema change that breaks the console fails tsc.
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { Time: string; JSON: unknown; ID: string };
}>();

export type { FragmentOf, ResultOf, VariablesOf } from "gql.tada";
export { readFragment } from "gql.tada";
