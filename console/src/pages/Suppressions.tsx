import { useMutation, useQuery } from "@urql/preact";
import { useState } from "preact/hooks";
import { graphql } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { Field, fieldErrors, type FieldErrors } from "./fields";

const SuppressionsQuery = graphql(`
  query SuppressionsPage($after: String) {
    suppressions(first: 50, after: $after) {
      edges { node { email reason scope detail createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const AddMutation = graphql(`
  mutation AddSuppression($email: String!, $reason: SuppressionReason) {
    addSuppression(email: $email, reason: $reason) { email reason scope }
  }
`);

const RemoveMutation = graphql(`
  mutation RemoveSuppression($email: String!) {
    removeSuppression(email: $email)
  }
`);

const reasons = ["MANUAL", "BOUNCE", "COMPLAINT", "UNSUBSCRIBED"] as const;
type Reason = (typeof reasons)[number];

// Suppressions lists the addresses the tenant's mail does not go to, 50 at
// a time (keyset pages, "Load more"), adds one with a reason and removes
// one. Every change reloads the list from the first page.
export function Suppressions() {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [reason, setReason] = useState<Reason>("MANUAL");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState("");
  const [generation, setGeneration] = useState(0);
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [addState, add] = useMutation(AddMutation);
  const [, remove] = useMutation(RemoveMutation);

  const reload = () => {
    setPages([null]);
    setGeneration((g) => g + 1);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await add({ email, reason });
    setErrors(fieldErrors(r.error));
    if (r.data) {
      setStatus(t("sup.added", { email: r.data.addSuppression.email }));
      setEmail("");
      reload();
    }
  };
  const onRemove = async (addr: string) => {
    const r = await remove({ email: addr });
    if (r.error) {
      setStatus(t("common.error", { message: r.error.message }));
      return;
    }
    setStatus(t("sup.removed", { email: addr }));
    reload();
  };

  return (
    <section>
      <h1>{t("sup.title")}</h1>
      <p class="hint">{t("sup.intro")}</p>
      <form class="card" onSubmit={submit} aria-labelledby="sup-add-title" noValidate>
        <h2 id="sup-add-title">{t("sup.add")}</h2>
        <div class="row">
          <Field field="email" label={t("sup.email")} errors={errors}>
            {(a) => <input {...a} type="email" autoComplete="off" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />}
          </Field>
          <Field field="reason" label={t("sup.reason")} errors={errors} hint={t("sup.scopeHint", { scope: reason === "UNSUBSCRIBED" ? "SUBSCRIPTION" : "ALL" })}>
            {(a) => (
              <select {...a} value={reason} onChange={(e) => setReason((e.target as HTMLSelectElement).value as Reason)}>
                {reasons.map((r) => <option key={r} value={r}>{t("sup.reasonName", { reason: r })}</option>)}
              </select>
            )}
          </Field>
        </div>
        {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
        <div class="actions">
          <button type="submit" class="primary" disabled={addState.fetching} data-testid="suppression-add">{t("sup.addButton")}</button>
        </div>
      </form>
      <p role="status" class="hint" data-testid="suppression-status">{status}</p>
      <div class="table-wrap">
        <table class="logs cb-table">
          <thead>
            <tr>
              <th scope="col">{t("sup.email")}</th>
              <th scope="col">{t("sup.reason")}</th>
              <th scope="col">{t("sup.scope")}</th>
              <th scope="col">{t("sup.created")}</th>
              <th scope="col"><span class="cb-sr">{t("sup.actions")}</span></th>
            </tr>
          </thead>
          {pages.map((after, i) => (
            <SuppressionPage
              key={generation + ":" + i}
              after={after}
              first={i === 0}
              onMore={i === pages.length - 1 ? (c) => setPages((p) => [...p, c]) : undefined}
              onRemove={onRemove}
            />
          ))}
        </table>
      </div>
    </section>
  );
}

function SuppressionPage(props: { after: string | null; first: boolean; onMore?: (cursor: string) => void; onRemove: (email: string) => void }) {
  const { t, date } = useI18n();
  const [{ data, error, fetching }] = useQuery({ query: SuppressionsQuery, variables: { after: props.after }, requestPolicy: "network-only" });
  const conn = data?.suppressions;
  return (
    <tbody>
      {error && <tr><td colSpan={5} class="error" role="alert">{t("common.error", { message: error.message })}</td></tr>}
      {props.first && conn && conn.edges.length === 0 && <tr><td colSpan={5}>{t("sup.empty")}</td></tr>}
      {conn?.edges.map(({ node: s }) => (
        <tr key={s.email} data-testid="suppression-row" data-email={s.email}>
          <td class="cb-wrap" data-label={t("sup.email")}>{s.email}</td>
          <td data-label={t("sup.reason")}>{t("sup.reasonName", { reason: s.reason })}{s.detail && <div class="hint">{s.detail}</div>}</td>
          <td data-label={t("sup.scope")}>{t("sup.scopeName", { scope: s.scope })}</td>
          <td data-label={t("sup.created")}>{date(s.createdAt)}</td>
          <td>
            <button type="button" onClick={() => props.onRemove(s.email)} aria-label={t("sup.removeLabel", { email: s.email })}>
              {t("sup.remove")}
            </button>
          </td>
        </tr>
      ))}
      {props.onMore && conn?.pageInfo.hasNextPage && (
        <tr>
          <td colSpan={5}>
            <button type="button" disabled={fetching} onClick={() => props.onMore?.(conn.pageInfo.endCursor ?? "")}>{t("cb.more")}</button>
          </td>
        </tr>
      )}
    </tbody>
  );
}
