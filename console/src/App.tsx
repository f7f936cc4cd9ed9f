import { Provider } from "@urql/preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { newClient } from "./client";
import { I18nContext, langs, makeI18n, pickLang, useI18n, type Lang } from "./i18n/i18n";
import { Logs } from "./pages/Logs";
import { Branded } from "./pages/Branded";
import { Domains } from "./pages/Domains";
import { Senders } from "./pages/Senders";
import { MessageDetail } from "./pages/MessageDetail";
import { Templates } from "./pages/Templates";
import { SenderSettings } from "./pages/SenderSettings";
import { SignIn } from "./pages/SignIn";
import { Audit } from "./pages/Audit";
import { Partners } from "./pages/Partners";
import { Suppressions } from "./pages/Suppressions";
import { Tenants } from "./pages/Tenants";
import { Webhooks } from "./pages/Webhooks";
import {
  decode, devSignIn, devSignInAvailable, forgetDevParams, onPlatformToken, requestPlatformToken,
  storedDevParams, storedToken, storeToken, takeFragmentToken, type Session,
} from "./session";

const base = import.meta.env.BASE_URL;

// route is the app's own path under /console/.
function currentRoute(): string {
  const p = window.location.pathname;
  return p.startsWith(base) ? p.slice(base.length) : "";
}

export function navigate(to: string) {
  history.pushState(null, "", base + to + window.location.search);
  window.dispatchEvent(new Event("popstate"));
}

export function App() {
  const [lang, setLang] = useState<Lang>(() => pickLang(window.location.search, navigator.languages));
  const i18n = useMemo(() => makeI18n(lang), [lang]);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  const [session, setSession] = useState<Session | null>(() => {
    const t = takeFragmentToken() ?? storedToken();
    return t ? decode(t) : null;
  });
  const [dev, setDev] = useState<boolean | null>(null);
  const [expired, setExpired] = useState(false);
  const tokenRef = useRef<string | null>(session?.token ?? null);

  const accept = (token: string) => {
    const s = decode(token);
    if (!s) return;
    tokenRef.current = token;
    storeToken(token);
    setExpired(false);
    setSession(s);
  };

  // renew asks for a new token: the development sign-in mints one with the
  // same choice; the embedding platform is asked by postMessage.
  const renewing = useRef(false);
  const renew = async () => {
    if (renewing.current) return;
    renewing.current = true;
    setExpired(true);
    try {
      const p = storedDevParams();
      if (p && (await devSignInAvailable())) {
        accept(await devSignIn(p));
      } else {
        requestPlatformToken();
      }
    } catch {
      // The sign-in form comes back below.
    } finally {
      renewing.current = false;
    }
  };

  useEffect(() => onPlatformToken(accept), []);
  useEffect(() => {
    devSignInAvailable().then((d) => {
      setDev(d);
      // Embedded in production without a token: ask the platform for one.
      if (!d && !tokenRef.current) requestPlatformToken();
    });
  }, []);
  useEffect(() => {
    if (!session?.exp) return;
    const ms = session.exp * 1000 - Date.now() - 30_000;
    const timer = setTimeout(renew, Math.max(ms, 0));
    return () => clearTimeout(timer);
  }, [session]);

  const client = useMemo(() => newClient(() => tokenRef.current, renew), []);

  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const f = () => setRoute(currentRoute());
    window.addEventListener("popstate", f);
    return () => window.removeEventListener("popstate", f);
  }, []);

  const signOut = () => {
    storeToken(null);
    forgetDevParams();
    tokenRef.current = null;
    setSession(null);
  };
  const changeLang = (l: Lang) => {
    const u = new URL(window.location.href);
    u.searchParams.set("lang", l);
    history.replaceState(history.state, "", u.pathname + u.search);
    setLang(l);
  };

  return (
    <I18nContext.Provider value={i18n}>
      <a class="skip" href="#main">{i18n.t("app.skip")}</a>
      <Header session={session} onSignOut={signOut} lang={lang} onLang={changeLang} />
      <main id="main" tabIndex={-1}>
        {expired && <p class="banner" role="status">{i18n.t("session.expired")}</p>}
        {!session ? (
          <SignIn dev={dev} onToken={accept} />
        ) : (
          <Provider value={client}>
            <Page route={route} session={session} />
          </Provider>
        )}
      </main>
    </I18nContext.Provider>
  );
}

function Page({ route, session }: { route: string; session: Session }) {
  const { t } = useI18n();
  if (session.roles.includes("operator")) return route === "tenants" || route === "" ? <Tenants /> : <p>{t("session.operator")}</p>;
  if (route === "logs") return <Logs />;
  if (route === "domains") return <Domains />;
  if (route === "senders") return <Senders />;
  const branded = /^branded(?:\/([^/]+))?$/.exec(route);
  if (branded) return <Branded senderKey={branded[1] ? decodeURIComponent(branded[1]) : "default"} />;
  if (route.startsWith("logs/")) return <MessageDetail key={route} id={decodeURIComponent(route.slice(5))} />;
  if (route === "templates") return <Templates />;
  if (session.roles.includes("admin")) {
    if (route === "suppressions") return <Suppressions />;
    if (route === "webhooks") return <Webhooks />;
    if (route === "partners") return <Partners />;
    if (route === "audit") return <Audit />;
  }
  const m = /^senders\/([^/]+)$/.exec(route);
  return <SenderSettings senderKey={m ? decodeURIComponent(m[1]) : "default"} />;
}

function Header(props: { session: Session | null; onSignOut: () => void; lang: Lang; onLang: (l: Lang) => void }) {
  const { t } = useI18n();
  const link = (to: string, label: string) => (
    <a href={base + to} onClick={(e) => { e.preventDefault(); navigate(to); }}>{label}</a>
  );
  return (
    <header class="top">
      <strong class="brand">{t("app.title")}</strong>
      {props.session && (
        <nav aria-label={t("app.title")}>
          {link("", t("nav.settings"))}
          {link("logs", t("nav.logs"))}
          {link("senders", t("nav.senders"))}
          {link("branded", t("nav.branded"))}
          {link("domains", t("nav.domains"))}
          {link("templates", t("nav.templates"))}
          {props.session.roles.includes("admin") && link("suppressions", t("nav.suppressions"))}
          {props.session.roles.includes("admin") && link("webhooks", t("nav.webhooks"))}
          {props.session.roles.includes("admin") && link("partners", t("nav.partners"))}
          {props.session.roles.includes("admin") && link("audit", t("nav.audit"))}
          {props.session.roles.includes("operator") && link("tenants", t("nav.tenants"))}
        </nav>
      )}
      <span class="spacer" />
      <label class="lang">
        <span>{t("nav.language")}</span>
        <select value={props.lang} onChange={(e) => props.onLang((e.target as HTMLSelectElement).value as Lang)}>
          {langs.map((l) => <option value={l} key={l}>{{ en: "English", ja: "日本語", de: "Deutsch" }[l]}</option>)}
        </select>
      </label>
      {props.session && (
        <>
          <span class="who">{t("session.who", { subject: props.session.subject, tenant: props.session.tenant || "—", roles: props.session.roles.join(", ") })}</span>
          <button type="button" class="link" onClick={props.onSignOut}>{t("nav.signOut")}</button>
        </>
      )}
    </header>
  );
}
