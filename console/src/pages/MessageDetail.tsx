import { useMutation, useQuery, useSubscription } from "@urql/preact";
import { useEffect, useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { navigate } from "../App";

const Detail = graphql(`
  fragment MessageDetail on Message @_unmask {
    id sender kind status from to cc subject template idempotencyKey resentFrom
    createdAt updatedAt sentAt sendAt metadata tags
    attempts { at durationMs server code enhancedCode reply tlsVersion category providerMessageId }
    events { status at detail }
    lastError { category code enhancedCode message hint }
  }
`);

const MessageQuery = graphql(`
  query MessagePage($id: ID!) { message(id: $id) { ...MessageDetail } }
`, [Detail]);

const Updated = graphql(`
  subscription MessageUpdated($id: ID!) { messageUpdated(id: $id) { ...MessageDetail } }
`, [Detail]);

const Cancel = graphql(`
  mutation CancelMessage($id: ID!) { cancelMessage(id: $id) { ...MessageDetail } }
`, [Detail]);

const Resend = graphql(`
  mutation ResendMessage($id: ID!) { resendMessage(id: $id) { id } }
`);

type Message = ResultOf<typeof Detail>;

const cancellable = new Set(["SCHEDULED", "QUEUED", "RETRYING"]);
const pending = new Set(["SCHEDULED", "QUEUED", "SENDING", "RETRYING"]);
const base = import.meta.env.BASE_URL;

// MessageDetail shows one message: its addresses, metadata, the last
// error, every delivery attempt and status change, kept live by the
// messageUpdated subscription; a message not sent yet can be cancelled, a
// finished notification resent (as a new message, opened at once).
export function MessageDetail({ id }: { id: string }) {
  const { t, date } = useI18n();
  const [{ data, error, fetching }] = useQuery({ query: MessageQuery, variables: { id } });
  const [live] = useSubscription({ query: Updated, variables: { id } });
  const [cancelState, cancel] = useMutation(Cancel);
  const [resendState, resend] = useMutation(Resend);
  const [m, setM] = useState<Message | null>(null);
  const [notice, setNotice] = useState("");

  useEffect(() => { setM(data?.message ?? null); }, [data]);
  useEffect(() => { if (live.data?.messageUpdated) setM(live.data.messageUpdated); }, [live.data]);

  const back = (
    <p>
      <a href={base + "logs" + window.location.search} onClick={(e) => { e.preventDefault(); navigate("logs"); }}>
        {t("message.back")}
      </a>
    </p>
  );
  if (fetching && !m) return <section>{back}<p>{t("common.loading")}</p></section>;
  if (error && !m) return <section>{back}<p class="error" role="alert">{t("common.error", { message: error.message })}</p></section>;
  if (!m) return <section>{back}<h1>{t("message.notFound")}</h1></section>;

  const doCancel = async () => {
    const r = await cancel({ id: m.id });
    if (r.data?.cancelMessage) {
      setM(r.data.cancelMessage);
      setNotice(t("message.cancelled"));
    }
  };
  const doResend = async () => {
    const r = await resend({ id: m.id });
    const next = r.data?.resendMessage.id;
    if (next) navigate("logs/" + encodeURIComponent(next));
  };
  const actionError = cancelState.error ?? resendState.error;
  const meta = m.metadata && typeof m.metadata === "object" ? Object.entries(m.metadata as Record<string, unknown>) : [];

  return (
    <section class="message" data-testid="message-detail">
      {back}
      <h1>{m.subject || t("message.noSubject")}</h1>
      <p>
        <span data-testid="message-status" class={"status s-" + m.status}>{m.status}</span>{" "}
        <span class="hint">{t("logs.statusName", { status: m.status })}</span>
      </p>
      {notice && <p class="notice" role="status">{notice}</p>}
      {actionError && <p class="error" role="alert">{t("common.error", { message: actionError.graphQLErrors[0]?.message ?? actionError.message })}</p>}
      <div class="actions">
        {m.kind === "NOTIFICATION" && cancellable.has(m.status) && (
          <button type="button" data-testid="cancel-message" onClick={doCancel} disabled={cancelState.fetching}>{t("message.cancel")}</button>
        )}
        {m.kind === "NOTIFICATION" && !pending.has(m.status) && (
          <button type="button" data-testid="resend-message" onClick={doResend} disabled={resendState.fetching}>{t("message.resend")}</button>
        )}
      </div>
      <dl class="card facts">
        <dt>{t("message.from")}</dt><dd>{m.from}</dd>
        <dt>{t("logs.to")}</dt><dd>{m.to.join(", ")}</dd>
        {m.cc.length > 0 && <><dt>{t("message.cc")}</dt><dd>{m.cc.join(", ")}</dd></>}
        <dt>{t("logs.sender")}</dt><dd>{m.sender}</dd>
        <dt>{t("logs.template")}</dt><dd>{m.template ?? "—"}</dd>
        <dt>{t("message.kind")}</dt><dd>{t("message.kindName", { kind: m.kind })}</dd>
        <dt>{t("logs.created")}</dt><dd>{date(m.createdAt)}</dd>
        {m.sendAt && <><dt>{t("message.sendAt")}</dt><dd>{date(m.sendAt)}</dd></>}
        {m.sentAt && <><dt>{t("message.sentAt")}</dt><dd>{date(m.sentAt)}</dd></>}
        {m.tags.length > 0 && <><dt>{t("logs.tag")}</dt><dd class="tags">{m.tags.map((g) => <span class="tag" key={g}>{g}</span>)}</dd></>}
        {meta.length > 0 && <><dt>{t("message.metadata")}</dt><dd>{meta.map(([k, v]) => <div key={k}><code>{k}</code>: {String(v)}</div>)}</dd></>}
        {m.idempotencyKey && <><dt>{t("message.idempotencyKey")}</dt><dd><code>{m.idempotencyKey}</code></dd></>}
        {m.resentFrom && (
          <>
            <dt>{t("message.resentFrom")}</dt>
            <dd><a href={base + "logs/" + encodeURIComponent(m.resentFrom)} onClick={(e) => { e.preventDefault(); navigate("logs/" + encodeURIComponent(m.resentFrom!)); }}>{m.resentFrom}</a></dd>
          </>
        )}
      </dl>

      {m.lastError && (
        <section class="card last-error" data-testid="last-error" aria-labelledby="last-error-title">
          <h2 id="last-error-title" class="h2">{t("message.lastError")}</h2>
          <p class="error">{m.lastError.message}</p>
          <p class="hint">{[m.lastError.category, m.lastError.code, m.lastError.enhancedCode].filter((x) => x != null && x !== "").join(" · ")}</p>
          {m.lastError.hint && <p>{m.lastError.hint}</p>}
        </section>
      )}

      <section class="card" aria-labelledby="attempts-title">
        <h2 id="attempts-title" class="h2">{t("message.attempts", { n: m.attempts.length })}</h2>
        {m.attempts.length === 0 ? <p class="hint">{t("message.noAttempts")}</p> : (
          <ol class="attempts">
            {m.attempts.map((a, i) => (
              <li key={i} data-testid="attempt">
                <div><strong>{date(a.at)}</strong> · {t("test.stepMs", { ms: a.durationMs })}{a.server && <> · <code>{a.server}</code></>}</div>
                {(a.code != null || a.reply) && <div class="reply"><code>{[a.code, a.enhancedCode, a.reply].filter((x) => x != null && x !== "").join(" ")}</code></div>}
                <div class="hint">
                  {[a.category, a.tlsVersion, a.providerMessageId && t("message.providerId", { id: a.providerMessageId })].filter(Boolean).join(" · ")}
                </div>
              </li>
            ))}
          </ol>
        )}
      </section>

      <section class="card" aria-labelledby="events-title">
        <h2 id="events-title" class="h2">{t("message.events")}</h2>
        <ol class="events">
          {m.events.map((ev, i) => (
            <li key={i} data-testid="message-event">
              <span class={"status s-" + ev.status}>{ev.status}</span> <span class="hint">{date(ev.at)}</span>
              {ev.detail && <div class="hint">{ev.detail}</div>}
            </li>
          ))}
        </ol>
      </section>
    </section>
  );
}
