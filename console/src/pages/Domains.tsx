import { useMutation, useQuery } from "@urql/preact";
import { useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import type { MessageId } from "../i18n/en";
import { Field, fieldErrors, type FieldErrors } from "./fields";

const Domain = graphql(`
  fragment DomainFields on SendingDomain @_unmask {
    id domain status dkimSelector lastCheckedAt createdAt
    records { purpose type name value status found hint }
  }
`);

const DomainsQuery = graphql(`
  query DomainsPage {
    sendingDomains { ...DomainFields }
  }
`, [Domain]);

const AddMutation = graphql(`
  mutation AddSendingDomain($domain: String!) {
    addSendingDomain(domain: $domain) { ...DomainFields }
  }
`, [Domain]);

const CheckMutation = graphql(`
  mutation CheckSendingDomain($id: ID!) {
    checkSendingDomain(id: $id) { ...DomainFields }
  }
`, [Domain]);

const RotateMutation = graphql(`
  mutation RotateDkimKey($id: ID!) {
    rotateDkimKey(id: $id) { ...DomainFields }
  }
`, [Domain]);

const RemoveMutation = graphql(`
  mutation RemoveSendingDomain($id: ID!) {
    removeSendingDomain(id: $id)
  }
`);

type Domain = ResultOf<typeof Domain>;
type DnsRecord = Domain["records"][number];

// copyText puts text on the clipboard; where the browser refuses (no
// permission, an insecure origin) it reports false and the value stays
// selectable on the page.
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

// Domains is the page of the tenant's sending domains: add one, publish
// the DNS records it shows (each with a copy button), check them now, see
// each record's status, rotate the DKIM key, remove the domain.
export function Domains() {
  const { t } = useI18n();
  const [{ data, error }, refetch] = useQuery({ query: DomainsQuery });
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [notice, setNotice] = useState<string | null>(null);
  const [addState, add] = useMutation(AddMutation);

  if (error && !data) return <p class="error" role="alert">{t("common.error", { message: error.message })}</p>;
  if (!data) return <p aria-busy="true">{t("common.loading")}</p>;

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setNotice(null);
    const r = await add({ domain: name.trim() });
    if (r.error || !r.data) return setErrors(fieldErrors(r.error, { "": "domain" }));
    setNotice(t("domains.added", { domain: r.data.addSendingDomain.domain }));
    setName("");
    refetch({ requestPolicy: "network-only" });
  };

  return (
    <section class="domains">
      <h1>{t("domains.title")}</h1>
      <p class="hint">{t("domains.intro")}</p>
      <form class="card" onSubmit={submit} noValidate>
        <h2>{t("domains.addTitle")}</h2>
        <Field field="domain" label={t("domains.domain")} errors={errors} hint={t("domains.domainHint")}>
          {(a) => <input {...a} value={name} autocomplete="off" inputMode="url" required
            onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
        </Field>
        <div class="actions">
          <button type="submit" class="primary" data-testid="add-domain" disabled={addState.fetching}>{t("domains.add")}</button>
        </div>
      </form>
      {notice && <p class="notice" role="status" data-testid="notice">{notice}</p>}
      {data.sendingDomains.length === 0 && <p class="hint">{t("domains.none")}</p>}
      {data.sendingDomains.map((d) => (
        <DomainCard key={d.id} domain={d} onRemoved={() => refetch({ requestPolicy: "network-only" })} />
      ))}
    </section>
  );
}

function DomainCard({ domain: d, onRemoved }: { domain: Domain; onRemoved: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [checkState, check] = useMutation(CheckMutation);
  const [rotateState, rotate] = useMutation(RotateMutation);
  const [removeState, remove] = useMutation(RemoveMutation);
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [checked, setChecked] = useState<string | null>(null);

  const run = async (what: "check" | "rotate") => {
    setProblem(null);
    setChecked(null);
    const r = what === "check" ? await check({ id: d.id }) : await rotate({ id: d.id });
    if (r.error) return setProblem(r.error.graphQLErrors[0]?.message ?? r.error.message);
    // The answer holds a SendingDomain, so urql refetches the page's query, which updates the card.
    if (what === "check") setChecked(t("domains.checked", { status: (r.data as { checkSendingDomain: Domain }).checkSendingDomain.status }));
  };
  const doRemove = async () => {
    setProblem(null);
    const r = await remove({ id: d.id });
    if (r.error) return setProblem(r.error.graphQLErrors[0]?.message ?? r.error.message);
    onRemoved();
  };

  const headId = "domain-" + d.id;
  return (
    <article class="card domain" data-testid="domain" data-domain={d.domain} aria-labelledby={headId}>
      <h2 id={headId} class="domain-head">
        <span class="addr">{d.domain}</span>{" "}
        <span class={"status d-" + d.status} data-testid="domain-status">{d.status}</span>
      </h2>
      <p class="hint">
        {t(("domains.state." + d.status) as MessageId)}{" "}
        {d.lastCheckedAt ? t("domains.lastChecked", { at: i18n.date(d.lastCheckedAt) }) : t("domains.neverChecked")}
      </p>
      <ol class="records">
        {d.records.map((r, i) => <RecordItem key={r.purpose + r.name + i} record={r} />)}
      </ol>
      <div class="actions">
        <button type="button" class="primary" data-testid="check-domain" disabled={checkState.fetching} onClick={() => run("check")}>
          {checkState.fetching ? t("domains.checking") : t("domains.check")}
        </button>
        <button type="button" data-testid="rotate-dkim" disabled={rotateState.fetching} onClick={() => run("rotate")}>{t("domains.rotate")}</button>
        {!confirming ? (
          <button type="button" data-testid="remove-domain" onClick={() => setConfirming(true)}>{t("domains.remove")}</button>
        ) : (
          <span class="confirm" role="group" aria-label={t("domains.removeConfirm", { domain: d.domain })}>
            <span>{t("domains.removeConfirm", { domain: d.domain })}</span>{" "}
            <button type="button" class="danger" data-testid="remove-domain-confirm" disabled={removeState.fetching} onClick={doRemove}>
              {t("domains.removeYes")}
            </button>{" "}
            <button type="button" onClick={() => setConfirming(false)}>{t("domains.removeNo")}</button>
          </span>
        )}
      </div>
      <p class="hint" role="status" data-testid="check-result">{checked ?? ""}</p>
      {problem && <p class="error" role="alert" data-testid="domain-error">{problem}</p>}
    </article>
  );
}

function RecordItem({ record: r }: { record: DnsRecord }) {
  const { t } = useI18n();
  return (
    <li class="record" data-testid="dns-record" data-purpose={r.purpose} data-status={r.status}>
      <p class="record-head">
        <strong>{t(("domains.purpose." + r.purpose) as MessageId)}</strong>{" "}
        <span class="hint">{r.type}</span>{" "}
        <span class={"status r-" + r.status} data-testid="record-status">{t(("domains.record." + r.status) as MessageId)}</span>
      </p>
      <dl class="record-data">
        <dt>{t("domains.name")}</dt>
        <dd><code data-testid="record-name">{r.name}</code> <CopyButton text={r.name} label={t("domains.copyName", { purpose: r.purpose })} /></dd>
        <dt>{t("domains.value")}</dt>
        <dd><code data-testid="record-value">{r.value}</code> <CopyButton text={r.value} label={t("domains.copyValue", { purpose: r.purpose })} /></dd>
        {r.found.length > 0 && (
          <>
            <dt>{t("domains.found")}</dt>
            <dd>{r.found.map((f, i) => <code key={i} class="found">{f}</code>)}</dd>
          </>
        )}
      </dl>
      {r.hint && <p class={r.status === "VERIFIED" ? "hint" : "warn"} data-testid="record-hint">{r.hint}</p>}
    </li>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <>
      <button type="button" class="copy" data-testid="copy" aria-label={label}
        onClick={async () => setState((await copyText(text)) ? "copied" : "failed")}>
        {t("domains.copy")}
      </button>
      <span class="hint" role="status">
        {state === "copied" ? t("domains.copied") : state === "failed" ? t("domains.copyFailed") : ""}
      </span>
    </>
  );
}
