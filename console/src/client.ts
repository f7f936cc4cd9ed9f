import { cacheExchange, Client, fetchExchange, mapExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWSClient } from "graphql-ws";

// newClient returns the console's GraphQL client: queries and mutations
// over HTTP to /graphql, subscriptions over its websocket, each with the
// token token() returns at that moment. An UNAUTHENTICATED answer calls
// onUnauthenticated, which asks for a new token.
export function newClient(token: () => string | null, onUnauthenticated: () => void): Client {
  const wsURL = new URL("/graphql", window.location.href);
  wsURL.protocol = wsURL.protocol === "https:" ? "wss:" : "ws:";
  const ws = createWSClient({
    url: wsURL.toString(),
    lazy: true,
    retryAttempts: 3,
    connectionParams: () => ({ authorization: "Bearer " + (token() ?? "") }),
    on: {
      closed: (e) => {
        if ((e as CloseEvent).code === 4401) onUnauthenticated();
      },
    },
  });
  return new Client({
    url: "/graphql",
    requestPolicy: "cache-and-network",
    fetchOptions: (): RequestInit => {
      const t = token();
      const headers: Record<string, string> = t ? { authorization: "Bearer " + t } : {};
      return { headers };
    },
    exchanges: [
      mapExchange({
        onError(error) {
          if (error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) onUnauthenticated();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
