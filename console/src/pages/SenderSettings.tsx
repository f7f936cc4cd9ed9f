import { useMutation, useQuery, useSubscription } from "@urql/preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { graphql, type ResultOf, type VariablesOf } from "../graphql";
import { useI18n, type I18n } from "../i18n/i18n";
import type { MessageId } from "../i18n/en";
import { navigate } from "../App";
import { Field, fieldErrors, type FieldErrors } from "./fields";
import { OAuthConnect } from "./OAuthConnect";

const SettingsQuery = graphql(`
  query SenderSettingsPage($sender: String) {
    viewer { tenant { entitlements { modes } } }
    senders { key name }
    senderSettings(sender: $sender) {
      key name mode effectiveMode fromName fromEmail replyTo contactEmail bcc archiveCopyTo
      smtp { preset host port security auth username passwordSet skipTlsVerify oauthConnection }
      http { provider url authHeader authValueSet domain region accessKeyId }
      health { status message }
    }
    providerPresets {
      key name host hostPattern port security auth note oauthProvider
      limits { perSecond perMinute perHour perDay recipientsPerDay recipientsPerMessage }
    }
    httpProviderPresets {
      provider name baseUrl authHeader needs note
      limits { perSecond perMinute perHour perDay recipientsPerDay recipientsPerMessage }
    }
  }
`);

const TestFields = graphql(`
  fragment TestFields on SenderTest @_unmask {
    id status
    steps { name ok durationMs detail }
    error { category message hint }
  }
`);

const TestMutation = graphql(`
  mutation TestSenderSettings($input: SenderSettingsInput!) {
    testSenderSettings(input: $input) { ...TestFields }
  }
`, [TestFields]);

const TestUpdates = graphql(`
  subscription SenderTestUpdated($id: ID!) {
    senderTestUpdated(id: $id) { ...TestFields }
  }
`, [TestFields]);

const SaveMutation = graphql(`
  mutation SaveSenderSettings($testId: ID!, $sender: String) {
    saveSenderSettings(testId: $testId, sender: $sender) { key mode effectiveMode updatedAt }
  }
`);

const ProfileMutation = graphql(`
  mutation UpdateSenderProfile($input: SenderProfileInput!) {
    updateSenderProfile(input: $input) { key fromName replyTo contactEmail bcc archiveCopyTo }
  }
`);

const PlatformMutation = graphql(`
  mutation UseDefaultSender($sender: String) {
    useDefaultSender(sender: $sender) { key mode effectiveMode }
  }
`);

const VerifyMutation = graphql(`
  mutation RequestSenderVerification($email: String!, $sender: String) {
    requestSenderVerification(email: $email, sender: $sender) { id email status resendAvailableAt }
  }
`);

type Data = ResultOf<typeof SettingsQuery>;
type Mode = Data["senderSettings"]["mode"];
type Test = ResultOf<typeof TestFields>;
type Preset = Data["providerPresets"][number];
type Limits = Preset["limits"];
type SettingsInput = VariablesOf<typeof TestMutation>["input"];
type Security = NonNullable<SettingsInput["smtp"]>["security"];
type Auth = NonNullable<SettingsInput["smtp"]>["auth"];
type HttpProvider = NonNullable<NonNullable<SettingsInput["http"]>["provider"]>;

const modes: Mode[] = ["PLATFORM", "BRANDED", "SMTP", "HTTP"];
const securities: Security[] = ["STARTTLS", "IMPLICIT_TLS", "NONE"];
const auths: Auth[] = ["PLAIN", "LOGIN", "CRAM_MD5", "XOAUTH2", "NONE"];
// The Japanese hosting providers, listed first for Japanese users.
const japanesePresets = ["sakura", "xserver", "lolipop", "muumuu", "onamae"];

// Form is everything the page lets one edit, as strings for the inputs.
interface Form {
  mode: Mode;
  preset: string;
  host: string;
  port: string;
  security: Security;
  auth: Auth;
  username: string;
  password: string;
  skipTlsVerify: boolean;
  oauthConnection: string;
  provider: HttpProvider;
  url: string;
  authHeader: string;
  authValue: string;
  domain: string;
  region: string;
  accessKeyId: string;
  fromName: string;
  fromEmail: string;
  replyTo: string;
  contactEmail: string;
  bcc: string;
  archiveCopyTo: string;
  testRecipient: string;
}

function formOf(s: Data["senderSettings"]): Form {
  return {
    mode: s.mode,
    preset: s.smtp?.preset ?? "custom",
    host: s.smtp?.host ?? "",
    port: String(s.smtp?.port ?? 587),
    security: s.smtp?.security ?? "STARTTLS",
    auth: s.smtp?.auth ?? "PLAIN",
    username: s.smtp?.username ?? "",
    password: "",
    skipTlsVerify: s.smtp?.skipTlsVerify ?? false,
    oauthConnection: s.smtp?.oauthConnection ?? "",
    provider: s.http?.provider ?? "GENERIC",
    url: s.http?.url ?? "",
    authHeader: s.http?.authHeader ?? "",
    authValue: "",
    domain: s.http?.domain ?? "",
    region: s.http?.region ?? "",
    accessKeyId: s.http?.accessKeyId ?? "",
    fromName: s.fromName,
    fromEmail: s.fromEmail,
    replyTo: s.replyTo ?? "",
    contactEmail: s.contactEmail ?? "",
    bcc: s.bcc.join(", "),
    archiveCopyTo: s.archiveCopyTo ?? "",
    testRecipient: s.contactEmail ?? "",
  };
}

const orNull = (s: string) => (s.trim() === "" ? null : s.trim());
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

// inputOf is the SenderSettingsInput the test sends: exactly the form.
function inputOf(sender: string, f: Form): SettingsInput {
  const input: SettingsInput = {
    sender, mode: f.mode, fromName: orNull(f.fromName), fromEmail: orNull(f.fromEmail),
    replyTo: orNull(f.replyTo), contactEmail: orNull(f.contactEmail), bcc: list(f.bcc),
    archiveCopyTo: orNull(f.archiveCopyTo), testRecipient: f.testRecipient.trim(),
  };
  if (f.mode === "SMTP") {
    input.smtp = {
      preset: f.preset, host: f.host.trim(), port: Number(f.port) || 0, security: f.security, auth: f.auth,
      username: orNull(f.username), password: f.password === "" ? null : f.password, skipTlsVerify: f.skipTlsVerify,
    };
    if (f.auth === "XOAUTH2") input.smtp.oauthConnection = orNull(f.oauthConnection);
  }
  if (f.mode === "HTTP") {
    input.http = {
      provider: f.provider, url: orNull(f.url), authHeader: orNull(f.authHeader),
      authValue: f.authValue === "" ? null : f.authValue, domain: orNull(f.domain),
      region: orNull(f.region), accessKeyId: orNull(f.accessKeyId),
    };
  }
  return input;
}

function limitsText(i18n: I18n, l: Limits): string {
  const parts = (Object.keys(l) as (keyof Limits)[])
    .filter((k) => typeof l[k] === "number")
    .map((k) => i18n.t(("limit." + k) as MessageId, { n: l[k] }));
  return parts.length ? i18n.t("preset.limits", { list: i18n.list(parts) }) : i18n.t("preset.noLimits");
}

// SenderSettings is the page of one sender: how its mail goes out, with a
// test send whose steps stream in, and Save enabled only while the test
// of exactly the form as it is now has PASSED.
export function SenderSettings({ senderKey }: { senderKey: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [{ data, error, fetching }, refetch] = useQuery({ query: SettingsQuery, variables: { sender: senderKey } });
  const [form, setForm] = useState<Form | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [test, setTest] = useState<Test | null>(null);
  const [testedKey, setTestedKey] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const [testState, startTest] = useMutation(TestMutation);
  const [saveState, save] = useMutation(SaveMutation);
  const [, updateProfile] = useMutation(ProfileMutation);
  const [, usePlatform] = useMutation(PlatformMutation);
  const [, requestVerification] = useMutation(VerifyMutation);

  const settings = data?.senderSettings;
  useEffect(() => {
    if (settings && (form === null || settings.key !== senderKey)) setForm(formOf(settings));
  }, [settings?.key, senderKey]);
  useEffect(() => {
    setForm(null);
    setTest(null);
    setTestedKey(null);
    setErrors({});
    setNotice(null);
  }, [senderKey]);

  const [updates] = useSubscription({ query: TestUpdates, variables: { id: test?.id ?? "" }, pause: !test?.id });
  useEffect(() => {
    const u = updates.data?.senderTestUpdated;
    if (u && u.id === test?.id) setTest(u);
  }, [updates.data]);

  const presets = useMemo(() => {
    const all = data?.providerPresets ?? [];
    if (i18n.lang !== "ja") return all;
    return [...all.filter((p) => japanesePresets.includes(p.key)), ...all.filter((p) => !japanesePresets.includes(p.key))];
  }, [data?.providerPresets, i18n.lang]);

  if (error && !data) return <p class="error" role="alert">{t("common.error", { message: error.message })}</p>;
  if (!data || !form || !settings) return <p aria-busy="true">{t("common.loading")}</p>;

  const key = JSON.stringify(inputOf(senderKey, form));
  const current = test !== null && testedKey === key;
  const canSave = current && test.status === "PASSED" && !saved;
  const entitled = data.viewer.tenant.entitlements.modes;
  const preset = presets.find((p) => p.key === form.preset);
  const httpPreset = data.httpProviderPresets.find((p) => p.provider === form.provider);

  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setForm({ ...form, [k]: v });
    setSaved(false);
    setNotice(null);
  };
  const text = (k: keyof Form) => (e: Event) => set(k, (e.target as HTMLInputElement).value as never);

  const choosePreset = (k: string) => {
    const p = presets.find((x) => x.key === k);
    setSaved(false);
    if (!p) return setForm({ ...form, preset: "custom" });
    setForm({ ...form, preset: p.key, host: p.host ?? "", port: String(p.port), security: p.security, auth: p.auth });
  };

  const sendTest = async () => {
    setErrors({});
    setNotice(null);
    setSaved(false);
    const r = await startTest({ input: inputOf(senderKey, form) });
    if (r.error || !r.data) {
      setErrors(fieldErrors(r.error));
      return;
    }
    setTestedKey(key);
    setTest(r.data.testSenderSettings);
  };

  const doSave = async () => {
    if (!test) return;
    setErrors({});
    const r = await save({ testId: test.id, sender: senderKey });
    if (r.error) return setErrors(fieldErrors(r.error));
    setSaved(true);
    setNotice(t("save.done"));
    refetch({ requestPolicy: "network-only" });
  };

  const saveProfile = async () => {
    setErrors({});
    const r = await updateProfile({ input: {
      sender: senderKey, fromName: form.fromName, replyTo: form.replyTo, contactEmail: form.contactEmail,
      bcc: list(form.bcc), archiveCopyTo: form.archiveCopyTo,
    } });
    if (r.error) return setErrors(fieldErrors(r.error));
    setNotice(t("common.saved"));
  };

  const toPlatform = async () => {
    setErrors({});
    const r = await usePlatform({ sender: senderKey });
    if (r.error) return setErrors(fieldErrors(r.error));
    setNotice(t("common.saved"));
    refetch({ requestPolicy: "network-only" });
  };

  const verify = async () => {
    setErrors({});
    const r = await requestVerification({ email: form.fromEmail, sender: senderKey });
    if (r.error) return setErrors(fieldErrors(r.error, { email: "fromEmail", "": "fromEmail" }));
    setNotice(t("branded.sent", { email: form.fromEmail }));
  };

  const testable = form.mode === "SMTP" || form.mode === "HTTP";
  const status = test?.status;

  return (
    <section class="settings">
      <h1>{t("settings.title")}</h1>
      {data.senders.length > 1 && (
        <div class="field inline">
          <label for="sender-pick">{t("settings.sender")}</label>
          <select id="sender-pick" value={senderKey}
            onChange={(e) => navigate("senders/" + encodeURIComponent((e.target as HTMLSelectElement).value))}>
            {data.senders.map((s) => <option key={s.key} value={s.key}>{s.name} ({s.key})</option>)}
          </select>
        </div>
      )}
      <p class="hint">
        {t("settings.current", { mode: settings.effectiveMode })} {t("settings.health", { status: settings.health.status })}
        {fetching && " …"}
      </p>
      {errors[""] && <p class="error" role="alert" data-testid="form-error">{errors[""]}</p>}

      <form onSubmit={(e) => { e.preventDefault(); if (testable) sendTest(); }} noValidate>
        <fieldset class="card">
          <legend>{t("settings.mode")}</legend>
          <div class="modes" role="radiogroup">
            {modes.map((m) => {
              const allowed = entitled.includes(m);
              return (
                <label key={m} class={"mode" + (form.mode === m ? " chosen" : "")}>
                  <input type="radio" name="mode" value={m} checked={form.mode === m} disabled={!allowed}
                    onChange={() => set("mode", m)} data-testid={"mode-" + m} />
                  <span class="mode-name">{t(("mode." + m) as MessageId)}{!allowed && ` (${t("mode.notEntitled")})`}</span>
                  <span class="hint">{t(("mode." + m + ".hint") as MessageId)}</span>
                </label>
              );
            })}
          </div>
          {errors["mode"] && <p class="error" id="f-mode-error">{errors["mode"]}</p>}
        </fieldset>

        {form.mode === "SMTP" && (
          <fieldset class="card">
            <legend>{t("smtp.title")}</legend>
            <Field field="smtp.preset" label={t("preset.label")} errors={errors}
              hint={<>
                {preset ? limitsText(i18n, preset.limits) : null}
                {preset?.hostPattern && <> · {t("preset.hostPattern", { pattern: preset.hostPattern })}</>}
                {preset?.note && <><br />{preset.note}</>}
                {preset?.oauthProvider && <><br />{t("smtp.oauthHint")}</>}
              </>}>
              {(a) => (
                <select {...a} value={form.preset} onChange={(e) => choosePreset((e.target as HTMLSelectElement).value)} data-testid="preset">
                  <option value="custom">{t("preset.custom")}</option>
                  {presets.filter((p) => p.key !== "custom").map((p) => <option key={p.key} value={p.key}>{p.name}</option>)}
                </select>
              )}
            </Field>
            <div class="row">
              <Field field="smtp.host" label={t("smtp.host")} errors={errors}>
                {(a) => <input {...a} value={form.host} onInput={text("host")} autocomplete="off" placeholder={preset?.hostPattern ?? ""} />}
              </Field>
              <Field field="smtp.port" label={t("smtp.port")} errors={errors}>
                {(a) => <input {...a} class="short" inputMode="numeric" value={form.port} onInput={text("port")} />}
              </Field>
            </div>
            <div class="row">
              <Field field="smtp.security" label={t("smtp.security")} errors={errors}>
                {(a) => (
                  <select {...a} value={form.security} onChange={text("security")}>
                    {securities.map((s) => <option key={s} value={s}>{t(("smtp.security." + s) as MessageId)}</option>)}
                  </select>
                )}
              </Field>
              <Field field="smtp.auth" label={t("smtp.auth")} errors={errors}>
                {(a) => (
                  <select {...a} value={form.auth} onChange={text("auth")}>
                    {auths.map((s) => <option key={s} value={s}>{t(("smtp.auth." + s) as MessageId)}</option>)}
                  </select>
                )}
              </Field>
            </div>
            {form.auth !== "NONE" && (
              <div class="row">
                <Field field="smtp.username" label={t("smtp.username")} errors={errors}>
                  {(a) => <input {...a} value={form.username} onInput={text("username")} autocomplete="username" />}
                </Field>
                {form.auth !== "XOAUTH2" && (
                  <Field field="smtp.password" label={t("smtp.password")} errors={errors}
                    hint={settings.smtp?.passwordSet ? t("smtp.passwordSet") : undefined}>
                    {(a) => <input {...a} type="password" value={form.password} onInput={text("password")} autocomplete="new-password" />}
                  </Field>
                )}
              </div>
            )}
            {(form.auth === "XOAUTH2" || preset?.oauthProvider) && (
              <OAuthConnect sender={senderKey} preferred={preset?.oauthProvider} chosen={form.oauthConnection}
                onChoose={(c) => {
                  setSaved(false);
                  setForm(c ? { ...form, auth: "XOAUTH2", oauthConnection: c.id, username: c.email ?? form.username } : { ...form, oauthConnection: "" });
                }} />
            )}
            {errors["smtp.oauthConnection"] && <p class="error" data-testid="field-error" data-field="smtp.oauthConnection">{errors["smtp.oauthConnection"]}</p>}
            <div class="check">
              <input id="f-smtp-skipTlsVerify" type="checkbox" checked={form.skipTlsVerify}
                onChange={(e) => set("skipTlsVerify", (e.target as HTMLInputElement).checked)} />
              <label for="f-smtp-skipTlsVerify">{t("smtp.skipTlsVerify")}</label>
            </div>
          </fieldset>
        )}

        {form.mode === "HTTP" && (
          <fieldset class="card">
            <legend>{t("http.title")}</legend>
            <Field field="http.provider" label={t("http.provider")} errors={errors}
              hint={httpPreset ? <>{limitsText(i18n, httpPreset.limits)}{httpPreset.note && <><br />{httpPreset.note}</>}</> : undefined}>
              {(a) => (
                <select {...a} value={form.provider} onChange={text("provider")}>
                  {data.httpProviderPresets.map((p) => <option key={p.provider} value={p.provider}>{p.name}</option>)}
                </select>
              )}
            </Field>
            {(httpPreset?.needs ?? ["url", "authHeader"]).filter((n) => n !== "authValue").map((n) => (
              <Field key={n} field={"http." + n} label={t(("http." + n) as MessageId)} errors={errors}>
                {(a) => n === "region" && form.provider === "MAILGUN" ? (
                  <select {...a} value={form.region || "US"} onChange={text("region")}>
                    <option value="US">{t("http.region.US")}</option>
                    <option value="EU">{t("http.region.EU")}</option>
                  </select>
                ) : (
                  <input {...a} value={form[n as keyof Form] as string} onInput={text(n as keyof Form)} autocomplete="off"
                    placeholder={n === "url" ? httpPreset?.baseUrl ?? "https://" : n === "region" ? "eu-west-1" : ""} />
                )}
              </Field>
            ))}
            {httpPreset && !httpPreset.needs.includes("url") && (
              <Field field="http.url" label={t("http.urlOverride")} errors={errors} hint={t("http.urlOverrideHint")}>
                {(a) => <input {...a} value={form.url} onInput={text("url")} autocomplete="off" placeholder={httpPreset.baseUrl ?? ""} />}
              </Field>
            )}
            <Field field="http.authValue" label={t("http.authValue")} errors={errors}
              hint={settings.http?.authValueSet ? t("http.authValueSet") : undefined}>
              {(a) => <input {...a} type="password" value={form.authValue} onInput={text("authValue")} autocomplete="new-password" />}
            </Field>
          </fieldset>
        )}

        <fieldset class="card">
          <legend>{t("profile.title")}</legend>
          <div class="row">
            <Field field="fromName" label={t("profile.fromName")} errors={errors}>
              {(a) => <input {...a} value={form.fromName} onInput={text("fromName")} />}
            </Field>
            <Field field="fromEmail" label={t("profile.fromEmail")} errors={errors}>
              {(a) => <input {...a} type="email" value={form.fromEmail} onInput={text("fromEmail")} disabled={form.mode === "PLATFORM"} />}
            </Field>
          </div>
          <div class="row">
            <Field field="replyTo" label={t("profile.replyTo")} errors={errors}>
              {(a) => <input {...a} type="email" value={form.replyTo} onInput={text("replyTo")} />}
            </Field>
            <Field field="contactEmail" label={t("profile.contactEmail")} errors={errors}>
              {(a) => <input {...a} type="email" value={form.contactEmail} onInput={text("contactEmail")} />}
            </Field>
          </div>
          <div class="row">
            <Field field="bcc" label={t("profile.bcc")} errors={errors}>
              {(a) => <input {...a} value={form.bcc} onInput={text("bcc")} />}
            </Field>
            <Field field="archiveCopyTo" label={t("profile.archiveCopyTo")} errors={errors}>
              {(a) => <input {...a} type="email" value={form.archiveCopyTo} onInput={text("archiveCopyTo")} />}
            </Field>
          </div>
          {!testable && (
            <div class="actions">
              <button type="button" onClick={saveProfile}>{t("profile.save")}</button>
              {form.mode === "PLATFORM" && settings.mode !== "PLATFORM" && (
                <button type="button" onClick={toPlatform}>{t("platform.use")}</button>
              )}
              {form.mode === "BRANDED" && <button type="button" class="primary" onClick={verify}>{t("branded.request")}</button>}
              {form.mode === "BRANDED" && (
                <a href={import.meta.env.BASE_URL + "branded/" + encodeURIComponent(senderKey)}
                  onClick={(e) => { e.preventDefault(); navigate("branded/" + encodeURIComponent(senderKey)); }}>
                  {t("settings.verificationState")}
                </a>
              )}
            </div>
          )}
        </fieldset>

        {testable && (
          <fieldset class="card">
            <legend>{t("test.title")}</legend>
            <Field field="testRecipient" label={t("test.recipient")} errors={errors}>
              {(a) => <input {...a} type="email" value={form.testRecipient} onInput={text("testRecipient")} required />}
            </Field>
            <div class="actions">
              <button type="submit" data-testid="send-test" disabled={testState.fetching || status === "PENDING" || status === "RUNNING"}>
                {t("test.send")}
              </button>
              <button type="button" class="primary" data-testid="save-settings" disabled={!canSave || saveState.fetching}
                aria-describedby="save-hint" onClick={doSave}>
                {t("save")}
              </button>
            </div>
            <p id="save-hint" class="hint">{canSave ? t("test.passedHint") : t("save.disabledHint")}</p>
            <div class="test" aria-live="polite">
              <p>
                {t("test.status")}: <strong data-testid="test-status" class={"status s-" + (status ?? "none")}>{status ?? "—"}</strong>
              </p>
              {/* One line either way, so that the steps below never move. */}
              {test && !current
                ? <p class="warn" data-testid="test-stale">{t("test.stale")}</p>
                : <p class="hint" style={test ? { visibility: "hidden" } : undefined}>{t("test.none")}</p>}
              <ol class="steps">
                {(test?.steps ?? []).map((s, i) => (
                  <li key={i} data-testid="test-step" data-ok={String(s.ok)} class={s.ok ? "ok" : "bad"}>
                    <span class="step-name">{s.name}</span>
                    <span class="step-ok">{s.ok ? t("test.ok") : t("test.failed")}</span>
                    <span class="step-ms">{t("test.stepMs", { ms: s.durationMs })}</span>
                    {s.detail && <span class="step-detail">{s.detail}</span>}
                  </li>
                ))}
              </ol>
              {test?.status === "FAILED" && test.error && (
                <p class="error" data-testid="test-error">{t("test.failedHint", { category: test.error.category, message: test.error.message })}
                  {test.error.hint && <><br />{test.error.hint}</>}</p>
              )}
            </div>
          </fieldset>
        )}
        {notice && <p class="notice" role="status" data-testid="notice">{notice}</p>}
      </form>
    </section>
  );
}
