import { useMutation, useQuery } from "@urql/preact";
import { useState } from "preact/hooks";
import { graphql } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { navigate } from "../App";
import { Field, fieldErrors, type FieldErrors } from "./fields";

const SendersQuery = graphql(`
  query SendersPage {
    viewer { tenant { entitlements { maxSenders } } }
    senders { key name ownerSubject mode effectiveMode fromEmail health { status } }
  }
`);

const CreateMutation = graphql(`
  mutation CreateSender($input: CreateSenderInput!) {
    createSender(input: $input) { key name }
  }
`);

const DeleteMutation = graphql(`
  mutation DeleteSender($key: String!) {
    deleteSender(key: $key)
  }
`);

// Senders lists the tenant's senders, each with a link to its settings
// and its branded address, and adds or deletes one.
export function Senders() {
  const { t } = useI18n();
  const [{ data, error }, refetch] = useQuery({ query: SendersQuery });
  const [form, setForm] = useState({ key: "", name: "", personal: false });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [notice, setNotice] = useState<string | null>(null);
  const [createState, create] = useMutation(CreateMutation);
  const [, remove] = useMutation(DeleteMutation);

  if (error && !data) return <p class="error" role="alert">{t("common.error", { message: error.message })}</p>;
  if (!data) return <p aria-busy="true">{t("common.loading")}</p>;

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setNotice(null);
    const r = await create({ input: { key: form.key.trim(), name: form.name.trim(), personal: form.personal } });
    if (r.error || !r.data) return setErrors(fieldErrors(r.error, { "": "key" }));
    setNotice(t("senders.created", { name: r.data.createSender.name }));
    setForm({ key: "", name: "", personal: false });
    refetch({ requestPolicy: "network-only" });
  };
  const drop = async (key: string) => {
    setErrors({});
    setNotice(null);
    const r = await remove({ key });
    if (r.error) return setErrors({ ["delete-" + key]: r.error.graphQLErrors[0]?.message ?? r.error.message });
    refetch({ requestPolicy: "network-only" });
  };
  const go = (to: string) => (e: Event) => { e.preventDefault(); navigate(to); };
  const base = import.meta.env.BASE_URL;

  return (
    <section class="senders">
      <h1>{t("senders.title")}</h1>
      <p class="hint">{t("senders.count", { n: data.senders.length, max: data.viewer.tenant.entitlements.maxSenders })}</p>
      <ul class="sender-list">
        {data.senders.map((s) => {
          const to = "senders/" + encodeURIComponent(s.key);
          const branded = "branded/" + encodeURIComponent(s.key);
          return (
            <li key={s.key} class="card" data-testid="sender" data-key={s.key}>
              <p class="verification-head">
                <strong>{s.name}</strong> <code>{s.key}</code>
                {s.ownerSubject && <span class="hint">{t("senders.personal", { owner: s.ownerSubject })}</span>}
              </p>
              <p class="hint">{t("settings.current", { mode: s.effectiveMode })} {t("settings.health", { status: s.health.status })}</p>
              <div class="actions">
                <a href={base + to} onClick={go(to)}>{t("senders.settings")}</a>
                <a href={base + branded} onClick={go(branded)}>{t("nav.branded")}</a>
                {s.key !== "default" && (
                  <button type="button" class="link" data-testid="delete-sender" onClick={() => drop(s.key)}>{t("senders.delete")}</button>
                )}
              </div>
              {errors["delete-" + s.key] && <p class="error" role="alert">{errors["delete-" + s.key]}</p>}
            </li>
          );
        })}
      </ul>
      <form class="card" onSubmit={submit} noValidate>
        <h2>{t("senders.addTitle")}</h2>
        <div class="row">
          <Field field="key" label={t("senders.key")} errors={errors} hint={t("senders.keyHint")}>
            {(a) => <input {...a} value={form.key} autocomplete="off" required
              onInput={(e) => setForm({ ...form, key: (e.target as HTMLInputElement).value })} />}
          </Field>
          <Field field="name" label={t("senders.name")} errors={errors}>
            {(a) => <input {...a} value={form.name} required
              onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} />}
          </Field>
        </div>
        <div class="check">
          <input id="f-personal" type="checkbox" checked={form.personal}
            onChange={(e) => setForm({ ...form, personal: (e.target as HTMLInputElement).checked })} />
          <label for="f-personal">{t("senders.personalLabel")}</label>
        </div>
        <div class="actions">
          <button type="submit" class="primary" data-testid="create-sender" disabled={createState.fetching}>{t("senders.add")}</button>
        </div>
      </form>
      {notice && <p class="notice" role="status" data-testid="notice">{notice}</p>}
    </section>
  );
}
