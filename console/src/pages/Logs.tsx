import { useQuery, useSubscription } from "@urql/preact";
import { useEffect, useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";

const Row = graphql(`
  fragment LogRow on Message @_unmask {
    id status to subject template sender createdAt
  }
`);

const MessagesQuery = graphql(`
  query LogsPage($after: String) {
    messages(first: 50, after: $after) {
      edges { node { ...LogRow } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [Row]);

const Events = graphql(`
  subscription LogEvents {
    messageEvents { ...LogRow }
  }
`, [Row]);

type Message = ResultOf<typeof Row>;

// Logs lists the tenant's messages, newest first, 50 at a time, and keeps
// each row's status live through the messageEvents subscription (new
// messages appear on top).
export function Logs() {
  const { t, date } = useI18n();
  const [after, setAfter] = useState<string | null>(null);
  const [{ data, error, fetching }] = useQuery({ query: MessagesQuery, variables: { after } });
  const [rows, setRows] = useState<Message[]>([]);
  const [live] = useSubscription({ query: Events });

  useEffect(() => {
    const page = data?.messages.edges.map((e) => e.node) ?? [];
    setRows((old) => {
      const seen = new Set(old.map((m) => m.id));
      return [...old, ...page.filter((m) => !seen.has(m.id))];
    });
  }, [data]);
  useEffect(() => {
    const m = live.data?.messageEvents;
    if (!m) return;
    setRows((old) => (old.some((o) => o.id === m.id) ? old.map((o) => (o.id === m.id ? m : o)) : [m, ...old]));
  }, [live.data]);

  return (
    <section>
      <h1>{t("logs.title")}</h1>
      {error && <p class="error" role="alert">{t("common.error", { message: error.message })}</p>}
      <p class="hint" aria-live="polite">{t("logs.count", { n: rows.length })}</p>
      {rows.length === 0 && !fetching && <p>{t("logs.empty")}</p>}
      <div class="table-wrap">
        <table class="logs">
          <thead>
            <tr>
              <th scope="col">{t("logs.created")}</th>
              <th scope="col">{t("logs.to")}</th>
              <th scope="col">{t("logs.template")}</th>
              <th scope="col">{t("logs.status")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.id} data-testid="message-row" data-id={m.id}>
                <td>{date(m.createdAt)}</td>
                <td>{m.to.join(", ")}<div class="hint">{m.subject}</div></td>
                <td>{m.template ?? "—"}</td>
                <td><span data-testid="message-status" class={"status s-" + m.status}>{m.status}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data?.messages.pageInfo.hasNextPage && (
        <button type="button" onClick={() => setAfter(data.messages.pageInfo.endCursor ?? null)} disabled={fetching}>
          {t("logs.more")}
        </button>
      )}
    </section>
  );
}
