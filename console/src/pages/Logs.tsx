import { useClient, useSubscription } from "@urql/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { graphql, type ResultOf, type VariablesOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { navigate } from "../App";
import { SendTest } from "./SendTest";

const Row = graphql(`
  fragment LogRow on Message @_unmask {
    id status to subject template sender tags createdAt sendAt
  }
`);

const MessagesQuery = graphql(`
  query LogsPage($filter: MessageFilter, $first: Int, $after: String) {
    messages(filter: $filter, first: $first, after: $after) {
      edges { node { ...LogRow } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [Row]);

const Events = graphql(`
  subscription LogEvents($filter: MessageFilter) {
    messageEvents(filter: $filter) { ...LogRow }
  }
`, [Row]);

const SendersQuery = graphql(`
  query LogsSenders { senders { key name } }
`);

type Message = ResultOf<typeof Row>;
type Filter = NonNullable<VariablesOf<typeof MessagesQuery>["filter"]>;
type Status = NonNullable<Filter["status"]>[number];

// pageSize is how many messages one keyset page holds.
export const pageSize = 50;

export const statuses: Status[] = [
  "SCHEDULED", "QUEUED", "SENDING", "RETRYING", "SENT", "FAILED", "CANCELLED", "SUPPRESSED", "BOUNCED", "COMPLAINED",
];

// Filters is the form's state, as the URL holds it: status, sender, to,
// template, since, until (ISO times), q, tag, mk and mv (one metadata key
// and its value).
export interface Filters {
  status: string; sender: string; to: string; template: string; since: string; until: string;
  q: string; tag: string; mk: string; mv: string;
}
const keys: (keyof Filters)[] = ["status", "sender", "to", "template", "since", "until", "q", "tag", "mk", "mv"];

export function readFilters(search: string): Filters {
  const p = new URLSearchParams(search);
  const f = {} as Filters;
  for (const k of keys) f[k] = p.get(k) ?? "";
  return f;
}

function writeFilters(f: Filters) {
  const u = new URL(window.location.href);
  for (const k of keys) {
    if (f[k]) u.searchParams.set(k, f[k]);
    else u.searchParams.delete(k);
  }
  history.replaceState(history.state, "", u.pathname + u.search);
}

// apiFilter turns the form's state into the API's MessageFilter.
function apiFilter(f: Filters): Filter {
  const out: Filter = {};
  const st = f.status.split(",").filter((s): s is Status => (statuses as string[]).includes(s));
  if (st.length) out.status = st;
  if (f.sender) out.sender = f.sender;
  if (f.to) out.recipient = f.to;
  if (f.template) out.template = f.template;
  if (f.since) out.since = f.since;
  if (f.until) out.until = f.until;
  if (f.q) out.search = f.q;
  if (f.tag) out.tag = f.tag;
  if (f.mk) out.metadata = { [f.mk]: f.mv };
  return out;
}

// localInput is an ISO time as a datetime-local input's value (local time).
function localInput(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(v: string): string {
  if (!v) return "";
  const d = new Date(v);
  return isNaN(d.getTime()) ? "" : d.toISOString();
}

const base = import.meta.env.BASE_URL;

// Logs lists the tenant's messages, newest first, one keyset page at a
// time (the next loads when the end of the list scrolls into view, or with
// the "Load more" button), filtered by what the URL says, and keeps each
// row's status live through the messageEvents subscription (new matching
// messages appear on top).
export function Logs() {
  const { t, date } = useI18n();
  const client = useClient();
  const [filters, setFilters] = useState<Filters>(() => readFilters(window.location.search));
  const [draft, setDraft] = useState<Filters>(filters);
  const [rows, setRows] = useState<Message[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasNext, setHasNext] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState("");
  const generation = useRef(0);
  const busy = useRef(false);
  const senders = useSendersList();

  const filter = apiFilter(filters);
  const filterKey = JSON.stringify(filter);

  const load = async (after: string | null) => {
    if (busy.current && after !== null) return;
    busy.current = true;
    const gen = generation.current;
    setLoading(true);
    const r = await client
      .query(MessagesQuery, { filter, first: pageSize, after }, { requestPolicy: "network-only" })
      .toPromise();
    if (gen !== generation.current) return;
    busy.current = false;
    setLoading(false);
    if (r.error) {
      setError(r.error.message);
      return;
    }
    setError("");
    const page = r.data?.messages.edges.map((e) => e.node) ?? [];
    setRows((old) => {
      const start = after === null ? [] : old;
      const seen = new Set(start.map((m) => m.id));
      return [...start, ...page.filter((m) => !seen.has(m.id))];
    });
    setHasNext(r.data?.messages.pageInfo.hasNextPage ?? false);
    setCursor(r.data?.messages.pageInfo.endCursor ?? null);
  };

  useEffect(() => {
    generation.current++;
    busy.current = false;
    setRows([]);
    setHasNext(false);
    load(null);
  }, [filterKey]);

  const hasNextRef = useRef(hasNext);
  hasNextRef.current = hasNext;
  const [live] = useSubscription({ query: Events, variables: { filter } });
  useEffect(() => {
    const m = live.data?.messageEvents;
    if (!m) return;
    setRows((old) => {
      if (old.some((o) => o.id === m.id)) return old.map((o) => (o.id === m.id ? m : o));
      // A message older than the loaded pages comes with a later page.
      const last = old[old.length - 1];
      if (hasNextRef.current && last && Date.parse(m.createdAt) < Date.parse(last.createdAt)) return old;
      const at = old.findIndex((o) => Date.parse(o.createdAt) < Date.parse(m.createdAt));
      return at < 0 ? [...old, m] : [...old.slice(0, at), m, ...old.slice(at)];
    });
  }, [live.data]);

  // The next page loads when the sentinel below the list comes into view.
  const sentinel = useRef<HTMLDivElement>(null);
  const more = useRef<() => void>(() => {});
  more.current = () => {
    if (hasNext && !loading && cursor) load(cursor);
  };
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) more.current();
    }, { rootMargin: "200px" });
    io.observe(el);
    return () => io.disconnect();
  }, []);
  // A page that did not fill the screen: load on while the sentinel shows.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNext || loading) return;
    const r = el.getBoundingClientRect();
    if (r.top < window.innerHeight) more.current();
  }, [rows.length, hasNext, loading]);

  const apply = (e: Event) => {
    e.preventDefault();
    writeFilters(draft);
    setFilters(draft);
  };
  const clear = () => {
    const empty = readFilters("");
    setDraft(empty);
    writeFilters(empty);
    setFilters(empty);
  };
  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value });
  const active = keys.filter((k) => filters[k] && k !== "mv").length;

  return (
    <section class="logs-page">
      <h1>{t("logs.title")}</h1>
      <SendTest />
      <form class="card filters" onSubmit={apply} aria-labelledby="logs-filters-title" data-testid="logs-filters">
        <h2 id="logs-filters-title" class="h2">{t("logs.filters")}</h2>
        <div class="row">
          <div class="field">
            <label for="lf-status">{t("logs.status")}</label>
            <select id="lf-status" value={draft.status} onChange={set("status")}>
              <option value="">{t("logs.anyStatus")}</option>
              {statuses.map((s) => <option value={s} key={s}>{t("logs.statusName", { status: s })}</option>)}
            </select>
          </div>
          <div class="field">
            <label for="lf-sender">{t("logs.sender")}</label>
            <select id="lf-sender" value={draft.sender} onChange={set("sender")}>
              <option value="">{t("logs.anySender")}</option>
              {senders.map((s) => <option value={s.key} key={s.key}>{s.name ? `${s.name} (${s.key})` : s.key}</option>)}
              {draft.sender && !senders.some((s) => s.key === draft.sender) && <option value={draft.sender}>{draft.sender}</option>}
            </select>
          </div>
          <div class="field">
            <label for="lf-to">{t("logs.recipient")}</label>
            <input id="lf-to" type="email" value={draft.to} onInput={set("to")} autocomplete="off" />
          </div>
        </div>
        <div class="row">
          <div class="field">
            <label for="lf-template">{t("logs.template")}</label>
            <input id="lf-template" value={draft.template} onInput={set("template")} autocomplete="off" />
          </div>
          <div class="field">
            <label for="lf-q">{t("logs.search")}</label>
            <input id="lf-q" type="search" value={draft.q} onInput={set("q")} />
          </div>
          <div class="field">
            <label for="lf-tag">{t("logs.tag")}</label>
            <input id="lf-tag" value={draft.tag} onInput={set("tag")} autocomplete="off" />
          </div>
        </div>
        <div class="row">
          <div class="field">
            <label for="lf-since">{t("logs.since")}</label>
            <input id="lf-since" type="datetime-local" value={localInput(draft.since)}
              onInput={(e) => setDraft({ ...draft, since: fromLocalInput((e.target as HTMLInputElement).value) })} />
          </div>
          <div class="field">
            <label for="lf-until">{t("logs.until")}</label>
            <input id="lf-until" type="datetime-local" value={localInput(draft.until)}
              onInput={(e) => setDraft({ ...draft, until: fromLocalInput((e.target as HTMLInputElement).value) })} />
          </div>
        </div>
        <div class="row">
          <div class="field">
            <label for="lf-mk">{t("logs.metaKey")}</label>
            <input id="lf-mk" value={draft.mk} onInput={set("mk")} autocomplete="off" placeholder="orderId" />
          </div>
          <div class="field">
            <label for="lf-mv">{t("logs.metaValue")}</label>
            <input id="lf-mv" value={draft.mv} onInput={set("mv")} autocomplete="off" placeholder="1042" />
          </div>
        </div>
        <div class="actions">
          <button type="submit" class="primary" data-testid="apply-filters">{t("logs.apply")}</button>
          <button type="button" onClick={clear}>{t("logs.clear")}</button>
          <span class="hint">{t("logs.activeFilters", { n: active })}</span>
        </div>
      </form>
      {error && <p class="error" role="alert">{t("common.error", { message: error })}</p>}
      <p class="hint" aria-live="polite" data-testid="logs-count">
        {hasNext ? t("logs.countMore", { n: rows.length }) : t("logs.count", { n: rows.length })}
      </p>
      {rows.length === 0 && !loading && <p>{t("logs.empty")}</p>}
      <div class="table-wrap">
        <table class="logs">
          <caption class="sr-only">{t("logs.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("logs.created")}</th>
              <th scope="col">{t("logs.to")}</th>
              <th scope="col" class="wide-only">{t("logs.template")}</th>
              <th scope="col">{t("logs.status")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.id} data-testid="message-row" data-id={m.id}>
                <td class="nowrap">{date(m.createdAt)}</td>
                <td class="wrap">
                  <a href={base + "logs/" + encodeURIComponent(m.id) + window.location.search} data-testid="message-link"
                    onClick={(e) => { e.preventDefault(); navigate("logs/" + encodeURIComponent(m.id)); }}>
                    {m.to.join(", ")}
                  </a>
                  <div class="hint">{m.subject}</div>
                  {m.tags.length > 0 && <div class="tags">{m.tags.map((g) => <span class="tag" key={g}>{g}</span>)}</div>}
                </td>
                <td class="wide-only">{m.template ?? "—"}<div class="hint">{m.sender}</div></td>
                <td>
                  <span data-testid="message-status" class={"status s-" + m.status}>{m.status}</span>
                  {m.status === "SCHEDULED" && m.sendAt && <div class="hint">{t("logs.sendAt", { at: date(m.sendAt) })}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div ref={sentinel} class="sentinel" aria-hidden="true" />
      {hasNext && (
        <button type="button" onClick={() => more.current()} disabled={loading} data-testid="load-more">
          {loading ? t("common.loading") : t("logs.more")}
        </button>
      )}
      {loading && !hasNext && <p class="hint">{t("common.loading")}</p>}
    </section>
  );
}

type Sender = ResultOf<typeof SendersQuery>["senders"][number];

function useSendersList(): Sender[] {
  const client = useClient();
  const [list, setList] = useState<Sender[]>([]);
  useEffect(() => {
    client.query(SendersQuery, {}).toPromise().then((r) => setList(r.data?.senders ?? []));
  }, []);
  return list;
}
