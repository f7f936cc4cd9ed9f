import { useQuery } from "@urql/preact";
import { useState } from "preact/hooks";
import { graphql } from "../graphql";
import { useI18n } from "../i18n/i18n";

const AuditQuery = graphql(`
  query AuditPage($after: String) {
    auditLog(first: 50, after: $after) {
      edges { node { id actorKind actor action target requestId before after createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

// Audit lists the tenant's audit log, newest first, 50 entries at a time:
// who did what to which target, when, and the redacted values before and
// after the change.
export function Audit() {
  const { t } = useI18n();
  const [pages, setPages] = useState<(string | null)[]>([null]);
  return (
    <section>
      <h1>{t("audit.title")}</h1>
      <div class="table-wrap">
        <table class="logs cb-table">
          <thead>
            <tr>
              <th scope="col">{t("audit.time")}</th>
              <th scope="col">{t("audit.actor")}</th>
              <th scope="col">{t("audit.action")}</th>
              <th scope="col">{t("audit.target")}</th>
            </tr>
          </thead>
          {pages.map((after, i) => (
            <AuditPage key={i} after={after} first={i === 0} onMore={i === pages.length - 1 ? (c) => setPages((p) => [...p, c]) : undefined} />
          ))}
        </table>
      </div>
    </section>
  );
}

function AuditPage(props: { after: string | null; first: boolean; onMore?: (cursor: string) => void }) {
  const { t, date } = useI18n();
  const [{ data, error, fetching }] = useQuery({ query: AuditQuery, variables: { after: props.after }, requestPolicy: "network-only" });
  const conn = data?.auditLog;
  return (
    <tbody>
      {error && <tr><td colSpan={4} class="error" role="alert">{t("common.error", { message: error.message })}</td></tr>}
      {props.first && conn && conn.edges.length === 0 && <tr><td colSpan={4}>{t("audit.empty")}</td></tr>}
      {conn?.edges.map(({ node: e }) => (
        <tr key={e.id} data-testid="audit-row" data-action={e.action} data-target={e.target ?? ""}>
          <td data-label={t("audit.time")}><time dateTime={e.createdAt}>{date(e.createdAt)}</time></td>
          <td class="cb-wrap" data-label={t("audit.actor")}>{e.actor}<div class="hint">{t("audit.actorKind", { kind: e.actorKind })}</div></td>
          <td data-label={t("audit.action")}>
            {t("audit.actionName", { action: e.action.replace(/\./g, "_"), raw: e.action })}
            <div class="hint"><code>{e.action}</code></div>
            {(e.before != null || e.after != null) && (
              <details>
                <summary>{t("audit.change")}</summary>
                {e.before != null && <><p class="hint">{t("audit.before")}</p><pre class="cb-pre">{JSON.stringify(e.before, null, 2)}</pre></>}
                {e.after != null && <><p class="hint">{t("audit.after")}</p><pre class="cb-pre">{JSON.stringify(e.after, null, 2)}</pre></>}
              </details>
            )}
          </td>
          <td class="cb-wrap" data-label={t("audit.target")}>{e.target ?? "—"}</td>
        </tr>
      ))}
      {props.onMore && conn?.pageInfo.hasNextPage && (
        <tr>
          <td colSpan={4}>
            <button type="button" disabled={fetching} onClick={() => props.onMore?.(conn.pageInfo.endCursor ?? "")}>{t("cb.more")}</button>
          </td>
        </tr>
      )}
    </tbody>
  );
}
