import { useMutation, useQuery } from "@urql/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { Field, fieldErrors, type FieldErrors } from "./fields";

const EndpointFields = graphql(`
  fragment WebhookEndpointFields on WebhookEndpoint @_unmask {
    id url events enabled previousSecretExpiresAt createdAt updatedAt
    health { failing failingSince disabledReason disabledAt }
  }
`);

const EndpointsQuery = graphql(`
  query WebhooksPage {
    webhookEndpoints { ...WebhookEndpointFields }
  }
`, [EndpointFields]);

const CreateMutation = graphql(`
  mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { secret endpoint { ...WebhookEndpointFields } }
  }
`, [EndpointFields]);

const UpdateMutation = graphql(`
  mutation UpdateWebhookEndpoint($id: ID!, $input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(id: $id, input: $input) { ...WebhookEndpointFields }
  }
`, [EndpointFields]);

const RotateMutation = graphql(`
  mutation RotateWebhookSecret($id: ID!) {
    rotateWebhookSecret(id: $id) { secret endpoint { ...WebhookEndpointFields } }
  }
`, [EndpointFields]);

const DeleteMutation = graphql(`
  mutation DeleteWebhookEndpoint($id: ID!) {
    deleteWebhookEndpoint(id: $id)
  }
`);

const DeliveryFields = graphql(`
  fragment WebhookDeliveryFields on WebhookDelivery @_unmask {
    id webhookId type status payload replayOf createdAt finishedAt
    attempts { at durationMs statusCode response error }
  }
`);

const DeliveriesQuery = graphql(`
  query WebhookDeliveries($endpoint: ID!, $after: String) {
    webhookDeliveries(endpoint: $endpoint, first: 20, after: $after) {
      edges { node { ...WebhookDeliveryFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [DeliveryFields]);

const TestMutation = graphql(`
  mutation SendTestWebhook($id: ID!) {
    sendTestWebhook(id: $id) { ...WebhookDeliveryFields }
  }
`, [DeliveryFields]);

const ReplayMutation = graphql(`
  mutation ReplayWebhookDelivery($id: ID!) {
    replayWebhookDelivery(id: $id) { ...WebhookDeliveryFields }
  }
`, [DeliveryFields]);

type Endpoint = ResultOf<typeof EndpointFields>;
type Delivery = ResultOf<typeof DeliveryFields>;

// eventTypes are the event types an endpoint can filter on; none chosen
// means every type.
const eventTypes = [
  "message.queued", "message.sending", "message.retrying", "message.sent", "message.failed",
  "message.cancelled", "message.suppressed", "message.bounced", "message.complained", "message.scheduled",
  "sender.test.finished", "sender.health.changed", "domain.status.changed", "tenant.paused", "webhook.test",
];

// Webhooks manages the tenant's webhook endpoints: create one (its signing
// secret is shown once), enable or disable it, rotate its secret, delete
// it, send it a test event, and read its deliveries with every attempt,
// replaying one.
export function Webhooks() {
  const { t } = useI18n();
  const [{ data, error }, refetch] = useQuery({ query: EndpointsQuery, requestPolicy: "cache-and-network" });
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const reload = () => refetch({ requestPolicy: "network-only" });
  return (
    <section>
      <h1>{t("wh.title")}</h1>
      <p class="hint">{t("wh.intro")}</p>
      {secret && <SecretPanel {...secret} onDone={() => setSecret(null)} />}
      <CreateEndpoint onCreated={(url, s) => { setSecret({ url, secret: s }); reload(); }} />
      {error && <p class="error" role="alert">{t("common.error", { message: error.message })}</p>}
      <h2>{t("wh.endpoints")}</h2>
      {data && data.webhookEndpoints.length === 0 && <p>{t("wh.none")}</p>}
      {data?.webhookEndpoints.map((e) => (
        <EndpointCard key={e.id} endpoint={e} onSecret={(s) => setSecret({ url: e.url, secret: s })} onChanged={reload} />
      ))}
    </section>
  );
}

// SecretPanel shows a signing secret the API shows only once, with a copy
// button.
function SecretPanel(props: { url: string; secret: string; onDone: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  // A new secret moves the focus to it, so keyboard and screen reader
  // users do not miss the only time it is shown.
  useEffect(() => heading.current?.focus(), [props.secret]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied(t("wh.copied"));
    } catch {
      const el = document.getElementById("wh-secret");
      if (el) window.getSelection()?.selectAllChildren(el);
      setCopied(t("wh.copyManually"));
    }
  };
  return (
    <div class="card cb-secret" role="region" aria-labelledby="wh-secret-title" data-testid="webhook-secret">
      <h2 id="wh-secret-title" tabIndex={-1} ref={heading}>{t("wh.secretTitle")}</h2>
      <p>{t("wh.secretOnce", { url: props.url })}</p>
      <code id="wh-secret" class="cb-code" data-testid="webhook-secret-value">{props.secret}</code>
      <div class="actions">
        <button type="button" class="primary" onClick={copy}>{t("wh.copy")}</button>
        <button type="button" onClick={props.onDone}>{t("wh.secretDone")}</button>
      </div>
      <p role="status" class="hint">{copied}</p>
    </div>
  );
}

function EventPicker(props: { id: string; chosen: string[]; onChange: (events: string[]) => void; errors: FieldErrors }) {
  const { t } = useI18n();
  const error = props.errors["events"];
  return (
    <fieldset class="cb-events" aria-describedby={props.id + "-hint" + (error ? " " + props.id + "-error" : "")}>
      <legend>{t("wh.events")}</legend>
      <p id={props.id + "-hint"} class="hint">{t("wh.eventsHint")}</p>
      <div class="cb-checks">
        {eventTypes.map((ev) => (
          <label class="check" key={ev}>
            <input
              type="checkbox"
              checked={props.chosen.includes(ev)}
              onChange={(e) => props.onChange((e.target as HTMLInputElement).checked ? [...props.chosen, ev] : props.chosen.filter((x) => x !== ev))}
            />
            <code>{ev}</code>
          </label>
        ))}
      </div>
      {error && <p id={props.id + "-error"} class="error" data-testid="field-error" data-field="events">{error}</p>}
    </fieldset>
  );
}

function CreateEndpoint(props: { onCreated: (url: string, secret: string) => void }) {
  const { t } = useI18n();
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>([]);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [state, create] = useMutation(CreateMutation);
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await create({ input: { url, events } });
    setErrors(fieldErrors(r.error, { "input.url": "url", "input.events": "events" }));
    if (r.data) {
      const c = r.data.createWebhookEndpoint;
      setUrl("");
      setEvents([]);
      props.onCreated(c.endpoint.url, c.secret);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="wh-create-title" noValidate>
      <h2 id="wh-create-title">{t("wh.create")}</h2>
      <Field field="url" label={t("wh.url")} errors={errors} hint={t("wh.urlHint")}>
        {(a) => <input {...a} type="url" inputMode="url" autoComplete="off" required value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />}
      </Field>
      <EventPicker id="wh-create-events" chosen={events} onChange={setEvents} errors={errors} />
      {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
      <div class="actions">
        <button type="submit" class="primary" disabled={state.fetching} data-testid="webhook-create">{t("wh.createButton")}</button>
      </div>
    </form>
  );
}

function EndpointCard(props: { endpoint: Endpoint; onSecret: (secret: string) => void; onChanged: () => void }) {
  const { t, date } = useI18n();
  const e = props.endpoint;
  const [, update] = useMutation(UpdateMutation);
  const [, rotate] = useMutation(RotateMutation);
  const [, del] = useMutation(DeleteMutation);
  const [, sendTest] = useMutation(TestMutation);
  const [status, setStatus] = useState("");
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => { if (confirming) confirmRef.current?.focus(); }, [confirming]);
  const [open, setOpen] = useState(false);
  const [generation, setGeneration] = useState(0);
  const [editing, setEditing] = useState<string[] | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});

  const report = (err: { message: string } | undefined, done: string) => setStatus(err ? t("common.error", { message: err.message }) : done);
  const toggle = async () => {
    const r = await update({ id: e.id, input: { enabled: !e.enabled } });
    report(r.error, r.data?.updateWebhookEndpoint.enabled ? t("wh.enabledDone") : t("wh.disabledDone"));
  };
  const onRotate = async () => {
    const r = await rotate({ id: e.id });
    report(r.error, t("wh.rotated"));
    if (r.data) props.onSecret(r.data.rotateWebhookSecret.secret);
  };
  const onDelete = async () => {
    const r = await del({ id: e.id });
    report(r.error, "");
    if (!r.error) props.onChanged();
  };
  const onTest = async () => {
    const r = await sendTest({ id: e.id });
    report(r.error, t("wh.testSent"));
    if (r.data) {
      setOpen(true);
      setGeneration((g) => g + 1);
    }
  };
  const saveEvents = async () => {
    if (!editing) return;
    const r = await update({ id: e.id, input: { events: editing } });
    setErrors(fieldErrors(r.error, { "input.events": "events" }));
    if (r.data) {
      setEditing(null);
      setStatus(t("common.saved"));
    }
  };

  const titleId = "wh-" + e.id;
  return (
    <article class="card" aria-labelledby={titleId} data-testid="webhook-endpoint" data-url={e.url}>
      <h3 id={titleId} class="cb-wrap">{e.url}</h3>
      <p>
        <span class={"status " + (e.enabled ? "s-SENT" : "s-FAILED")} data-testid="webhook-enabled">
          {t("wh.state", { enabled: String(e.enabled) })}
        </span>
        {e.health.failing && <span class="warn"> · {t("wh.failing", { since: e.health.failingSince ? date(e.health.failingSince) : "—" })}</span>}
        {e.health.disabledReason && <span class="warn"> · {t("wh.disabledBy", { reason: e.health.disabledReason })}</span>}
      </p>
      <p class="hint">
        {e.events.length === 0 ? t("wh.allEvents") : t("wh.someEvents", { n: e.events.length, list: e.events.join(", ") })}
        {e.previousSecretExpiresAt && <> · {t("wh.previousSecret", { until: date(e.previousSecretExpiresAt) })}</>}
      </p>
      {editing && (
        <div>
          <EventPicker id={titleId + "-events"} chosen={editing} onChange={setEditing} errors={errors} />
          <div class="actions">
            <button type="button" class="primary" onClick={saveEvents}>{t("wh.saveEvents")}</button>
            <button type="button" onClick={() => { setEditing(null); setErrors({}); }}>{t("wh.cancel")}</button>
          </div>
        </div>
      )}
      <div class="actions">
        <button type="button" onClick={onTest} data-testid="webhook-test">{t("wh.sendTest")}</button>
        <button type="button" onClick={() => setOpen(!open)} aria-expanded={open} aria-controls={titleId + "-deliveries"} data-testid="webhook-deliveries-toggle">
          {t("wh.deliveries")}
        </button>
        <button type="button" onClick={toggle} data-testid="webhook-toggle">{e.enabled ? t("wh.disable") : t("wh.enable")}</button>
        {!editing && <button type="button" onClick={() => setEditing(e.events)}>{t("wh.editEvents")}</button>}
        <button type="button" onClick={onRotate} data-testid="webhook-rotate">{t("wh.rotate")}</button>
        {!confirming ? (
          <button type="button" onClick={() => setConfirming(true)}>{t("wh.delete")}</button>
        ) : (
          <span class="cb-confirm" role="group" aria-label={t("wh.deleteConfirm")}>
            <span>{t("wh.deleteConfirm")}</span>
            <button type="button" class="cb-danger" ref={confirmRef} onClick={onDelete} data-testid="webhook-delete-confirm">{t("wh.deleteYes")}</button>
            <button type="button" onClick={() => setConfirming(false)}>{t("wh.cancel")}</button>
          </span>
        )}
      </div>
      <p role="status" class="hint">{status}</p>
      {open && <div id={titleId + "-deliveries"}><Deliveries key={generation} endpoint={e.id} enabled={e.enabled} /></div>}
    </article>
  );
}

// Deliveries lists an endpoint's deliveries, newest first, 20 at a time,
// and looks again every 1.5 s while the first page holds one not yet
// finished.
function Deliveries(props: { endpoint: string; enabled: boolean }) {
  const { t } = useI18n();
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [generation, setGeneration] = useState(0);
  return (
    <section aria-label={t("wh.deliveries")} data-testid="webhook-deliveries">
      <h4>{t("wh.deliveries")}</h4>
      {pages.map((after, i) => (
        <DeliveryPage
          key={generation + ":" + i}
          endpoint={props.endpoint}
          after={after}
          first={i === 0}
          onMore={i === pages.length - 1 ? (c) => setPages((p) => [...p, c]) : undefined}
          onReplayed={() => { setPages([null]); setGeneration((g) => g + 1); }}
        />
      ))}
    </section>
  );
}

function DeliveryPage(props: { endpoint: string; after: string | null; first: boolean; onMore?: (c: string) => void; onReplayed: () => void }) {
  const { t } = useI18n();
  const [{ data, error, fetching }, refetch] = useQuery({
    query: DeliveriesQuery, variables: { endpoint: props.endpoint, after: props.after }, requestPolicy: "network-only",
  });
  const conn = data?.webhookDeliveries;
  const unfinished = props.first && !!conn?.edges.some((d) => d.node.status === "PENDING" || d.node.status === "RETRYING");
  useEffect(() => {
    if (!unfinished || fetching) return;
    const timer = setTimeout(() => refetch({ requestPolicy: "network-only" }), 1500);
    return () => clearTimeout(timer);
  }, [unfinished, fetching, data]);
  return (
    <div>
      {error && <p class="error" role="alert">{t("common.error", { message: error.message })}</p>}
      {props.first && conn && conn.edges.length === 0 && <p>{t("wh.noDeliveries")}</p>}
      <ul class="cb-list">
        {conn?.edges.map(({ node }) => <DeliveryItem key={node.id} delivery={node} onReplayed={props.onReplayed} />)}
      </ul>
      {props.onMore && conn?.pageInfo.hasNextPage && (
        <button type="button" disabled={fetching} onClick={() => props.onMore?.(conn.pageInfo.endCursor ?? "")}>{t("cb.more")}</button>
      )}
    </div>
  );
}

function DeliveryItem(props: { delivery: Delivery; onReplayed: () => void }) {
  const { t, date } = useI18n();
  const d = props.delivery;
  const [state, replay] = useMutation(ReplayMutation);
  const [error, setError] = useState("");
  const onReplay = async () => {
    const r = await replay({ id: d.id });
    setError(r.error ? r.error.message : "");
    if (r.data) props.onReplayed();
  };
  return (
    <li class="cb-delivery" data-testid="webhook-delivery" data-id={d.id} data-type={d.type}>
      <div class="cb-delivery-head">
        <code>{d.type}</code>
        <span class={"status s-" + (d.status === "DELIVERED" ? "SENT" : d.status)} data-testid="webhook-delivery-status">
          {t("wh.deliveryStatus", { status: d.status })}
        </span>
        <span class="hint">{date(d.createdAt)}</span>
        {d.replayOf && <span class="hint" data-testid="webhook-delivery-replay">{t("wh.replayOf")}</span>}
      </div>
      <p class="hint cb-wrap">{t("wh.webhookId", { id: d.webhookId })}</p>
      <details>
        <summary>{t("wh.payload")}</summary>
        <pre class="cb-pre">{JSON.stringify(d.payload, null, 2)}</pre>
      </details>
      {d.attempts.length === 0 ? (
        <p class="hint">{t("wh.noAttempts")}</p>
      ) : (
        <div class="table-wrap">
          <table class="logs cb-table">
            <caption class="cb-sr">{t("wh.attempts", { n: d.attempts.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("wh.attemptAt")}</th>
                <th scope="col">{t("wh.attemptStatus")}</th>
                <th scope="col">{t("wh.attemptDuration")}</th>
                <th scope="col">{t("wh.attemptResponse")}</th>
              </tr>
            </thead>
            <tbody>
              {d.attempts.map((a, i) => (
                <tr key={i} data-testid="webhook-attempt">
                  <td data-label={t("wh.attemptAt")}>{date(a.at)}</td>
                  <td data-label={t("wh.attemptStatus")} data-testid="webhook-attempt-code">{a.statusCode ?? "—"}</td>
                  <td data-label={t("wh.attemptDuration")}>{t("wh.ms", { ms: a.durationMs })}</td>
                  <td class="cb-wrap" data-label={t("wh.attemptResponse")}><code data-testid="webhook-attempt-response">{a.response.slice(0, 200)}</code>{a.error && <div class="error">{a.error}</div>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="actions">
        <button type="button" onClick={onReplay} disabled={state.fetching} data-testid="webhook-replay">{t("wh.replay")}</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </li>
  );
}
