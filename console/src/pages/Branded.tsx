import { useMutation, useQuery } from "@urql/preact";
import type { CombinedError } from "@urql/core";
import { useEffect, useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import type { MessageId } from "../i18n/en";
import { navigate } from "../App";
import { Field, fieldErrors, type FieldErrors } from "./fields";
import { SenderPicker } from "./SenderPicker";

const Verification = graphql(`
  fragment BrandedVerification on SenderVerification @_unmask {
    id sender email status expiresAt verifiedAt resendAvailableAt
  }
`);

const BrandedQuery = graphql(`
  query BrandedPage($sender: String) {
    senders { key name }
    senderSettings(sender: $sender) {
      key mode effectiveMode fromEmail
      deliverability { fromDomain authenticated aligned effectiveFrom warnings }
    }
    senderVerifications(sender: $sender) { ...BrandedVerification }
  }
`, [Verification]);

const RequestMutation = graphql(`
  mutation BrandedRequest($email: String!, $sender: String) {
    requestSenderVerification(email: $email, sender: $sender) { ...BrandedVerification }
  }
`, [Verification]);

const ResendMutation = graphql(`
  mutation BrandedResend($id: ID!) {
    resendSenderVerification(id: $id) { ...BrandedVerification }
  }
`, [Verification]);

type Verification = ResultOf<typeof Verification>;

// retryAfter is the wait of a RATE_LIMITED answer, in seconds; 0 without one.
function retryAfter(err: CombinedError | undefined): number {
  const e = err?.graphQLErrors.find((g) => g.extensions?.code === "RATE_LIMITED");
  const s = e?.extensions?.retryAfter;
  return typeof s === "number" ? s : 0;
}

// useNow returns the time, updated every second while on is true, for
// the cooldowns counting down.
function useNow(on: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [on]);
  return now;
}

// Branded is the page of a sender's branded address: request a
// verification link, watch the link's state (the page polls while one is
// pending, since opening the link happens in the mail), and resend it once
// the cooldown the API reports has run out.
export function Branded({ senderKey }: { senderKey: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [{ data, error }, refetch] = useQuery({ query: BrandedQuery, variables: { sender: senderKey } });
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [notice, setNotice] = useState<string | null>(null);
  // waits holds a resend wait the API reported (RATE_LIMITED), by id.
  const [waits, setWaits] = useState<Record<string, number>>({});
  const [requestState, request] = useMutation(RequestMutation);
  const [resendState, resend] = useMutation(ResendMutation);

  const list = data?.senderVerifications ?? [];
  const pending = list.some((v) => v.status === "PENDING");
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => refetch({ requestPolicy: "network-only" }), 2000);
    return () => clearInterval(timer);
  }, [pending, senderKey]);
  useEffect(() => {
    setErrors({});
    setNotice(null);
    setEmail("");
  }, [senderKey]);

  const availableAt = (v: Verification) => {
    const times = [v.resendAvailableAt ? Date.parse(v.resendAvailableAt) : 0, waits[v.id] ?? 0];
    return Math.max(...times);
  };
  const now = useNow(list.some((v) => availableAt(v) > Date.now()));

  if (error && !data) return <p class="error" role="alert">{t("common.error", { message: error.message })}</p>;
  if (!data) return <p aria-busy="true">{t("common.loading")}</p>;
  const s = data.senderSettings;

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setNotice(null);
    const r = await request({ email: email.trim(), sender: senderKey });
    if (r.error || !r.data) {
      setErrors(fieldErrors(r.error, { "": "email" }));
      return;
    }
    setNotice(t("branded.linkSent", { email: r.data.requestSenderVerification.email }));
    setEmail("");
    refetch({ requestPolicy: "network-only" });
  };

  const doResend = async (v: Verification) => {
    setErrors({});
    setNotice(null);
    const r = await resend({ id: v.id });
    if (r.error) {
      const wait = retryAfter(r.error);
      if (wait > 0) setWaits({ ...waits, [v.id]: Date.now() + wait * 1000 });
      setErrors(fieldErrors(r.error, { "": "resend-" + v.id }));
      return;
    }
    setNotice(t("branded.linkSent", { email: v.email }));
    refetch({ requestPolicy: "network-only" });
  };

  return (
    <section class="branded">
      <h1>{t("branded.title")}</h1>
      <SenderPicker senders={data.senders} current={senderKey} onPick={(k) => navigate("branded/" + encodeURIComponent(k))} />
      <p class="hint">{t("branded.intro")}</p>
      <p class="hint" data-testid="branded-mode">
        {t("settings.current", { mode: s.effectiveMode })} {t("branded.from", { from: s.deliverability.effectiveFrom })}
      </p>
      {s.deliverability.warnings.length > 0 && (
        <ul class="warn">{s.deliverability.warnings.map((w, i) => <li key={i}>{w}</li>)}</ul>
      )}

      <form class="card" onSubmit={submit} noValidate>
        <h2>{t("branded.requestTitle")}</h2>
        <Field field="email" label={t("branded.email")} errors={errors} hint={t("branded.emailHint")}>
          {(a) => <input {...a} type="email" autocomplete="email" value={email} required
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />}
        </Field>
        {errors["sender"] && <p class="error">{errors["sender"]}</p>}
        <div class="actions">
          <button type="submit" class="primary" data-testid="request-verification" disabled={requestState.fetching}>
            {t("branded.request")}
          </button>
        </div>
      </form>
      {notice && <p class="notice" role="status" data-testid="notice">{notice}</p>}

      <h2>{t("branded.addresses")}</h2>
      {list.length === 0 && <p class="hint">{t("branded.none")}</p>}
      <ul class="verifications">
        {list.map((v) => {
          const left = Math.max(0, Math.ceil((availableAt(v) - now) / 1000));
          const errorKey = "resend-" + v.id;
          return (
            <li key={v.id} class="card" data-testid="verification" data-email={v.email}>
              <p class="verification-head">
                <strong class="addr">{v.email}</strong>{" "}
                <span class={"status v-" + v.status} data-testid="verification-status">{v.status}</span>
              </p>
              <p class="hint">{t(("branded.state." + v.status) as MessageId, {
                expires: i18n.date(v.expiresAt), verified: v.verifiedAt ? i18n.date(v.verifiedAt) : "",
              })}</p>
              {v.status !== "VERIFIED" && (
                <div class="actions">
                  <button type="button" data-testid="resend-verification" disabled={left > 0 || resendState.fetching}
                    aria-describedby={"cooldown-" + v.id} onClick={() => doResend(v)}>
                    {t("branded.resend")}
                  </button>
                  <span id={"cooldown-" + v.id} class="hint cooldown" data-testid="resend-cooldown" aria-live="polite">
                    {left > 0 ? t("branded.cooldown", { seconds: left }) : t("branded.resendReady")}
                  </span>
                </div>
              )}
              {errors[errorKey] && <p class="error" data-testid="field-error" data-field={errorKey}>{errors[errorKey]}</p>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
