import { useMutation, useQuery } from "@urql/preact";
import { useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { Field, fieldErrors, type FieldErrors } from "./fields";

const TenantFields = graphql(`
  fragment OperatorTenantFields on Tenant @_unmask {
    id slug name status statusReason senderCount messagesLast24h retentionDays
    entitlements { modes maxSenders dailyQuota }
    reputation { sent bounced complained bounceRate complaintRate since }
  }
`);

const TenantsQuery = graphql(`
  query TenantsPage($after: String) {
    tenants(first: 50, after: $after) {
      edges { node { ...OperatorTenantFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [TenantFields]);

const PauseMutation = graphql(`
  mutation PauseTenant($tenant: String!, $reason: String!) {
    pauseTenant(tenant: $tenant, reason: $reason) { ...OperatorTenantFields }
  }
`, [TenantFields]);

const ReinstateMutation = graphql(`
  mutation ReinstateTenant($tenant: String!) {
    reinstateTenant(tenant: $tenant) { ...OperatorTenantFields }
  }
`, [TenantFields]);

const EntitlementsMutation = graphql(`
  mutation SetTenantEntitlements($tenant: String!, $input: EntitlementsInput!) {
    setTenantEntitlements(tenant: $tenant, input: $input) { ...OperatorTenantFields }
  }
`, [TenantFields]);

type Tenant = ResultOf<typeof TenantFields>;
type Mode = Tenant["entitlements"]["modes"][number];
const allModes: Mode[] = ["PLATFORM", "BRANDED", "SMTP", "HTTP"];

// Tenants is the platform operator's page: every tenant by slug, 50 at a
// time, with its plan, counts and relay reputation; a tenant is paused
// with a reason (its users see it) and reinstated.
export function Tenants() {
  const { t } = useI18n();
  const [pages, setPages] = useState<(string | null)[]>([null]);
  return (
    <section>
      <h1>{t("op.title")}</h1>
      <p class="hint">{t("op.intro")}</p>
      {pages.map((after, i) => (
        <TenantPage key={i} after={after} first={i === 0} onMore={i === pages.length - 1 ? (c) => setPages((p) => [...p, c]) : undefined} />
      ))}
    </section>
  );
}

function TenantPage(props: { after: string | null; first: boolean; onMore?: (c: string) => void }) {
  const { t } = useI18n();
  const [{ data, error, fetching }] = useQuery({ query: TenantsQuery, variables: { after: props.after }, requestPolicy: "network-only" });
  const conn = data?.tenants;
  return (
    <>
      {error && !conn && <p class="error" role="alert">{t("common.error", { message: error.message })}</p>}
      {props.first && conn && conn.edges.length === 0 && <p>{t("op.none")}</p>}
      {conn?.edges.map(({ node }) => <TenantCard key={node.id} tenant={node} />)}
      {props.onMore && conn?.pageInfo.hasNextPage && (
        <button type="button" disabled={fetching} onClick={() => props.onMore?.(conn.pageInfo.endCursor ?? "")}>{t("cb.more")}</button>
      )}
    </>
  );
}

function TenantCard(props: { tenant: Tenant }) {
  const { t, date, lang } = useI18n();
  const [tenant, setTenant] = useState(props.tenant);
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState("");
  const [pauseState, pause] = useMutation(PauseMutation);
  const [reinstateState, reinstate] = useMutation(ReinstateMutation);
  const pct = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 2 });
  const e = tenant.entitlements;
  const rep = tenant.reputation;
  const titleId = "tenant-" + tenant.id;

  const onPause = async (ev: Event) => {
    ev.preventDefault();
    const r = await pause({ tenant: tenant.slug, reason });
    setErrors(fieldErrors(r.error));
    if (r.data) {
      setTenant(r.data.pauseTenant);
      setReason("");
      setStatus(t("op.pausedDone", { slug: tenant.slug }));
    }
  };
  const onReinstate = async () => {
    const r = await reinstate({ tenant: tenant.slug });
    setErrors(fieldErrors(r.error));
    if (r.data) {
      setTenant(r.data.reinstateTenant);
      setStatus(t("op.reinstatedDone", { slug: tenant.slug }));
    }
  };

  return (
    <article class="card" aria-labelledby={titleId} data-testid="tenant" data-slug={tenant.slug}>
      <h2 id={titleId} class="cb-wrap">{tenant.name || tenant.slug} <span class="hint">({tenant.slug})</span></h2>
      <p>
        <span class={"status " + (tenant.status === "ACTIVE" ? "s-SENT" : "s-FAILED")} data-testid="tenant-status">
          {t("op.status", { status: tenant.status })}
        </span>
        {tenant.statusReason && <span data-testid="tenant-reason"> · {t("op.reason", { reason: tenant.statusReason })}</span>}
      </p>
      <dl class="cb-dl">
        <dt>{t("op.modes")}</dt><dd>{e.modes.join(", ")}</dd>
        <dt>{t("op.maxSenders")}</dt><dd>{t("op.count", { n: e.maxSenders })}</dd>
        <dt>{t("op.dailyQuota")}</dt><dd>{e.dailyQuota == null ? t("op.noQuota") : t("op.perDay", { n: e.dailyQuota })}</dd>
        <dt>{t("op.senders")}</dt><dd>{t("op.count", { n: tenant.senderCount ?? 0 })}</dd>
        <dt>{t("op.messages24h")}</dt><dd>{t("op.count", { n: tenant.messagesLast24h ?? 0 })}</dd>
        <dt>{t("op.retention")}</dt><dd>{t("op.days", { n: tenant.retentionDays })}</dd>
        {rep && (
          <>
            <dt>{t("op.reputation")}</dt>
            <dd data-testid="tenant-reputation">
              {t("op.reputationLine", { sent: rep.sent, bounced: rep.bounced, complained: rep.complained, bounceRate: pct.format(rep.bounceRate), complaintRate: pct.format(rep.complaintRate) })}
              <div class="hint">{t("op.since", { since: date(rep.since) })}</div>
            </dd>
          </>
        )}
      </dl>
      <PlanEditor tenant={tenant} onSaved={(t2) => { setTenant(t2); setStatus(t("op.planSaved", { slug: t2.slug })); }} />
      {tenant.status === "ACTIVE" ? (
        <form onSubmit={onPause} aria-label={t("op.pauseLabel", { slug: tenant.slug })} noValidate>
          <Field field={"reason-" + tenant.id} label={t("op.pauseReason")} hint={t("op.pauseHint")} errors={{ ["reason-" + tenant.id]: errors["reason"] ?? "" }}>
            {(a) => <input {...a} required maxLength={500} value={reason} onInput={(ev) => setReason((ev.target as HTMLInputElement).value)} />}
          </Field>
          <div class="actions">
            <button type="submit" class="cb-danger" disabled={pauseState.fetching} data-testid="tenant-pause">{t("op.pause")}</button>
          </div>
        </form>
      ) : (
        <div class="actions">
          <button type="button" class="primary" disabled={reinstateState.fetching} onClick={onReinstate} data-testid="tenant-reinstate">{t("op.reinstate")}</button>
        </div>
      )}
      {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
      <p role="status" class="hint">{status}</p>
    </article>
  );
}

// PlanEditor changes a tenant's plan: its sending modes (PLATFORM always
// stays), how many senders it may have and its daily quota (empty for
// none).
function PlanEditor(props: { tenant: Tenant; onSaved: (t: Tenant) => void }) {
  const { t } = useI18n();
  const e = props.tenant.entitlements;
  const [open, setOpen] = useState(false);
  const [modes, setModes] = useState<Mode[]>(e.modes);
  const [maxSenders, setMaxSenders] = useState(String(e.maxSenders));
  const [quota, setQuota] = useState(e.dailyQuota == null ? "" : String(e.dailyQuota));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [state, save] = useMutation(EntitlementsMutation);
  const id = "plan-" + props.tenant.id;
  if (!open) {
    return (
      <div class="actions">
        <button type="button" onClick={() => setOpen(true)} data-testid="tenant-plan-edit">{t("op.editPlan")}</button>
      </div>
    );
  }
  const onSave = async (ev: Event) => {
    ev.preventDefault();
    const input = { modes, maxSenders: Number(maxSenders), dailyQuota: quota.trim() === "" ? null : Number(quota) };
    const r = await save({ tenant: props.tenant.slug, input });
    const got = fieldErrors(r.error);
    setErrors({
      [id + "-maxSenders"]: got["input.maxSenders"] ?? "",
      [id + "-dailyQuota"]: got["input.dailyQuota"] ?? "",
      modes: got["input.modes"] ?? "",
      "": got[""] ?? "",
    });
    if (r.data) {
      setOpen(false);
      props.onSaved(r.data.setTenantEntitlements);
    }
  };
  return (
    <form onSubmit={onSave} noValidate aria-label={t("op.editPlan")} data-testid="tenant-plan">
      <fieldset class="cb-events">
        <legend>{t("op.modes")}</legend>
        <div class="cb-checks">
          {allModes.map((m) => (
            <label class="check" key={m}>
              <input
                type="checkbox"
                checked={modes.includes(m)}
                disabled={m === "PLATFORM"}
                onChange={(ev) => setModes((ev.target as HTMLInputElement).checked ? [...modes, m] : modes.filter((x) => x !== m))}
              />
              <span>{m}</span>
            </label>
          ))}
        </div>
        <p class="hint">{t("op.platformAlways")}</p>
        {errors["modes"] && <p class="error">{errors["modes"]}</p>}
      </fieldset>
      <div class="row">
        <Field field={id + "-maxSenders"} label={t("op.maxSenders")} errors={errors}>
          {(a) => <input {...a} type="number" inputMode="numeric" min={1} value={maxSenders} onInput={(ev) => setMaxSenders((ev.target as HTMLInputElement).value)} />}
        </Field>
        <Field field={id + "-dailyQuota"} label={t("op.dailyQuota")} hint={t("op.quotaHint")} errors={errors}>
          {(a) => <input {...a} type="number" inputMode="numeric" min={0} value={quota} onInput={(ev) => setQuota((ev.target as HTMLInputElement).value)} />}
        </Field>
      </div>
      {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
      <div class="actions">
        <button type="submit" class="primary" disabled={state.fetching} data-testid="tenant-plan-save">{t("op.savePlan")}</button>
        <button type="button" onClick={() => { setOpen(false); setErrors({}); }}>{t("wh.cancel")}</button>
      </div>
    </form>
  );
}
