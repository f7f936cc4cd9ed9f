import { useMutation, useQuery } from "@urql/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { Field, fieldErrors, type FieldErrors } from "./fields";

const ClientFields = graphql(`
  fragment PartnerClientFields on PartnerClient @_unmask {
    id clientId name scopes createdAt revokedAt
    keys { kid algorithm createdAt }
  }
`);

const ClientsQuery = graphql(`
  query PartnersPage {
    partnerClients { ...PartnerClientFields }
  }
`, [ClientFields]);

const RegisterMutation = graphql(`
  mutation RegisterPartnerClient($input: PartnerClientInput!) {
    registerPartnerClient(input: $input) { ...PartnerClientFields }
  }
`, [ClientFields]);

const AddKeyMutation = graphql(`
  mutation AddPartnerKey($clientId: ID!, $key: PartnerKeyInput!) {
    addPartnerKey(clientId: $clientId, key: $key) { ...PartnerClientFields }
  }
`, [ClientFields]);

const RemoveKeyMutation = graphql(`
  mutation RemovePartnerKey($clientId: ID!, $kid: String!) {
    removePartnerKey(clientId: $clientId, kid: $kid) { ...PartnerClientFields }
  }
`, [ClientFields]);

const RevokeMutation = graphql(`
  mutation RevokePartnerClient($id: ID!) {
    revokePartnerClient(id: $id) { ...PartnerClientFields }
  }
`, [ClientFields]);

type Client = ResultOf<typeof ClientFields>;

const scopes = ["settings:read", "settings:write", "messages:send", "logs:read", "webhooks:manage"] as const;

// keyErrors moves the API's errors on keys[0].kid, keys[0].pem or a JWK
// field to the inputs of the one key the forms take.
function keyErrors(err: Parameters<typeof fieldErrors>[0]): FieldErrors {
  const out = fieldErrors(err, { "input.name": "name", "input.scopes": "scopes" });
  for (const f of Object.keys(out)) {
    const m = /^(?:input\.)?(?:keys\[0\]|key)(?:\.(.*))?$/.exec(f);
    if (!m) continue;
    const to = m[1] === "kid" ? "kid" : "pem";
    out[to] = out[to] ? out[to] + " " + out[f] : out[f];
    delete out[f];
  }
  return out;
}

// Partners registers the tenant's partner clients (a name, scopes and a
// public key its tokens are signed with), lists them with their keys,
// adds and removes keys (rotation) and revokes a client.
export function Partners() {
  const { t } = useI18n();
  const [{ data, error }, refetch] = useQuery({ query: ClientsQuery, requestPolicy: "cache-and-network" });
  return (
    <section>
      <h1>{t("partner.title")}</h1>
      <p class="hint">{t("partner.intro")}</p>
      <Register onDone={() => refetch({ requestPolicy: "network-only" })} />
      {error && <p class="error" role="alert">{t("common.error", { message: error.message })}</p>}
      <h2>{t("partner.clients")}</h2>
      {data && data.partnerClients.length === 0 && <p>{t("partner.none")}</p>}
      {data?.partnerClients.map((c) => <ClientCard key={c.id} client={c} />)}
    </section>
  );
}

function KeyInputs(props: { prefix: string; kid: string; pem: string; setKid: (s: string) => void; setPem: (s: string) => void; errors: FieldErrors }) {
  const { t } = useI18n();
  return (
    <>
      <Field field={props.prefix + "kid"} label={t("partner.kid")} errors={{ [props.prefix + "kid"]: props.errors["kid"] ?? "" }}>
        {(a) => <input {...a} required value={props.kid} onInput={(e) => props.setKid((e.target as HTMLInputElement).value)} />}
      </Field>
      <Field field={props.prefix + "pem"} label={t("partner.pem")} hint={t("partner.pemHint")} errors={{ [props.prefix + "pem"]: props.errors["pem"] ?? "" }}>
        {(a) => <textarea {...a} class="cb-textarea" rows={5} required value={props.pem} onInput={(e) => props.setPem((e.target as HTMLTextAreaElement).value)} />}
      </Field>
    </>
  );
}

// keyInput reads the key field: a JWK when it is JSON, else PEM.
function keyInput(kid: string, text: string) {
  const s = text.trim();
  if (s.startsWith("{")) {
    try {
      return { kid, jwk: JSON.parse(s) as unknown };
    } catch {
      // Not JSON after all: the API says what is wrong with it as PEM.
    }
  }
  return { kid, pem: s };
}

function Register(props: { onDone: () => void }) {
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [kid, setKid] = useState("");
  const [pem, setPem] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState("");
  const [state, register] = useMutation(RegisterMutation);
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await register({ input: { name, scopes: chosen, keys: [keyInput(kid, pem)] } });
    setErrors(keyErrors(r.error));
    if (r.data) {
      setStatus(t("partner.registered", { name: r.data.registerPartnerClient.name, clientId: r.data.registerPartnerClient.clientId }));
      setName(""); setChosen([]); setKid(""); setPem("");
      props.onDone();
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="partner-register-title" noValidate>
      <h2 id="partner-register-title">{t("partner.register")}</h2>
      <Field field="name" label={t("partner.name")} errors={errors}>
        {(a) => <input {...a} required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />}
      </Field>
      <fieldset class="cb-events" aria-describedby={errors["scopes"] ? "partner-scopes-error" : undefined}>
        <legend>{t("partner.scopes")}</legend>
        <div class="cb-checks">
          {scopes.map((s) => (
            <label class="check" key={s}>
              <input type="checkbox" checked={chosen.includes(s)} onChange={(e) => setChosen((e.target as HTMLInputElement).checked ? [...chosen, s] : chosen.filter((x) => x !== s))} />
              <span><code>{s}</code> <span class="hint">{t("partner.scope", { scope: s.replace(/[:]/g, "_") })}</span></span>
            </label>
          ))}
        </div>
        {errors["scopes"] && <p id="partner-scopes-error" class="error" data-testid="field-error" data-field="scopes">{errors["scopes"]}</p>}
      </fieldset>
      <KeyInputs prefix="partner-new-" kid={kid} pem={pem} setKid={setKid} setPem={setPem} errors={errors} />
      {errors["keys"] && <p class="error" data-testid="field-error" data-field="keys">{errors["keys"]}</p>}
      {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
      <div class="actions">
        <button type="submit" class="primary" disabled={state.fetching}>{t("partner.registerButton")}</button>
      </div>
      <p role="status" class="hint">{status}</p>
    </form>
  );
}

function ClientCard(props: { client: Client }) {
  const { t, date } = useI18n();
  const c = props.client;
  const [, revoke] = useMutation(RevokeMutation);
  const [, removeKey] = useMutation(RemoveKeyMutation);
  const [, addKey] = useMutation(AddKeyMutation);
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => { if (confirming) confirmRef.current?.focus(); }, [confirming]);
  const [adding, setAdding] = useState(false);
  const [kid, setKid] = useState("");
  const [pem, setPem] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState("");
  const titleId = "partner-" + c.id;
  const onAdd = async (e: Event) => {
    e.preventDefault();
    const r = await addKey({ clientId: c.id, key: keyInput(kid, pem) });
    setErrors(keyErrors(r.error));
    if (r.data) { setAdding(false); setKid(""); setPem(""); setStatus(t("partner.keyAdded", { kid })); }
  };
  const onRemoveKey = async (k: string) => {
    const r = await removeKey({ clientId: c.id, kid: k });
    setStatus(r.error ? t("common.error", { message: r.error.message }) : t("partner.keyRemoved", { kid: k }));
  };
  const onRevoke = async () => {
    const r = await revoke({ id: c.id });
    setConfirming(false);
    setStatus(r.error ? t("common.error", { message: r.error.message }) : t("partner.revokedDone"));
  };
  return (
    <article class="card" aria-labelledby={titleId} data-testid="partner-client">
      <h3 id={titleId}>{c.name}</h3>
      <dl class="cb-dl">
        <dt>{t("partner.clientId")}</dt><dd><code class="cb-wrap">{c.clientId}</code></dd>
        <dt>{t("partner.scopes")}</dt><dd>{c.scopes.join(", ")}</dd>
        <dt>{t("partner.created")}</dt><dd>{date(c.createdAt)}</dd>
        {c.revokedAt && <><dt>{t("partner.revoked")}</dt><dd class="warn">{date(c.revokedAt)}</dd></>}
      </dl>
      <h4>{t("partner.keys")}</h4>
      <ul class="cb-list">
        {c.keys.map((k) => (
          <li key={k.kid} class="cb-key">
            <code>{k.kid}</code> · {k.algorithm} · <span class="hint">{date(k.createdAt)}</span>
            {!c.revokedAt && c.keys.length > 1 && (
              <button type="button" onClick={() => onRemoveKey(k.kid)} aria-label={t("partner.removeKeyLabel", { kid: k.kid })}>{t("partner.removeKey")}</button>
            )}
          </li>
        ))}
      </ul>
      {!c.revokedAt && (
        <>
          {adding ? (
            <form onSubmit={onAdd} aria-label={t("partner.addKey")}>
              <KeyInputs prefix={titleId + "-"} kid={kid} pem={pem} setKid={setKid} setPem={setPem} errors={errors} />
              {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
              <div class="actions">
                <button type="submit" class="primary">{t("partner.addKey")}</button>
                <button type="button" onClick={() => setAdding(false)}>{t("wh.cancel")}</button>
              </div>
            </form>
          ) : (
            <div class="actions">
              <button type="button" onClick={() => setAdding(true)}>{t("partner.addKey")}</button>
              {!confirming ? (
                <button type="button" onClick={() => setConfirming(true)}>{t("partner.revoke")}</button>
              ) : (
                <span class="cb-confirm" role="group" aria-label={t("partner.revokeConfirm")}>
                  <span>{t("partner.revokeConfirm")}</span>
                  <button type="button" class="cb-danger" ref={confirmRef} onClick={onRevoke}>{t("partner.revokeYes")}</button>
                  <button type="button" onClick={() => setConfirming(false)}>{t("wh.cancel")}</button>
                </span>
              )}
            </div>
          )}
        </>
      )}
      <p role="status" class="hint">{status}</p>
    </article>
  );
}
