import { useState } from "preact/hooks";
import { useI18n } from "../i18n/i18n";
import { devSignIn, SignInError, type DevParams } from "../session";

// SignIn is the development sign-in where the service offers it, else a
// note that the console waits for the embedding platform's token.
export function SignIn({ dev, onToken }: { dev: boolean | null; onToken: (t: string) => void }) {
  const { t } = useI18n();
  const [p, setP] = useState<DevParams>({ tenant: "acme", role: "admin", subject: "dev" });
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  if (dev === null) return <p>{t("common.loading")}</p>;
  if (!dev) {
    return (
      <section>
        <h1>{t("signin.waiting")}</h1>
        <p>{t("signin.waitingHelp")}</p>
      </section>
    );
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const ttl = Number(new URLSearchParams(window.location.search).get("ttl")) || undefined;
      onToken(await devSignIn({ ...p, ttlSeconds: ttl }));
    } catch (err) {
      setError({ field: err instanceof SignInError ? err.field : undefined, message: String((err as Error).message) });
    } finally {
      setBusy(false);
    }
  };
  const set = (k: keyof DevParams) => (e: Event) => setP({ ...p, [k]: (e.target as HTMLInputElement).value });
  return (
    <section class="card narrow">
      <h1>{t("signin.title")}</h1>
      <p class="hint">{t("signin.intro")}</p>
      <form onSubmit={submit}>
        <div class="field">
          <label for="signin-role">{t("signin.role")}</label>
          <select id="signin-role" value={p.role} onChange={set("role")}>
            <option value="admin">{t("signin.role.admin")}</option>
            <option value="member">{t("signin.role.member")}</option>
            <option value="operator">{t("signin.role.operator")}</option>
          </select>
        </div>
        {p.role !== "operator" && (
          <div class="field">
            <label for="signin-tenant">{t("signin.tenant")}</label>
            <input id="signin-tenant" value={p.tenant} onInput={set("tenant")} required
              aria-invalid={error?.field === "tenant"} aria-describedby={error ? "signin-error" : undefined} />
          </div>
        )}
        <div class="field">
          <label for="signin-subject">{t("signin.subject")}</label>
          <input id="signin-subject" value={p.subject} onInput={set("subject")} />
        </div>
        {error && <p id="signin-error" class="error" role="alert">{error.message}</p>}
        <button type="submit" class="primary" disabled={busy} data-testid="sign-in">{t("signin.submit")}</button>
      </form>
    </section>
  );
}
