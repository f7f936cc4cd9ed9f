// The console's sign-in. Outside production the service offers a
// development sign-in (GET/POST dev/token); in production the embedding
// platform passes a token, in the URL fragment (#token=…, removed at once)
// or by postMessage({type: "outbox:token", token}). When a token nears its
// expiry the console asks for a new one: the development sign-in mints
// one again, the platform is sent postMessage({type: "outbox:token-request"}).

export interface DevParams {
  tenant: string;
  role: "admin" | "member" | "operator";
  subject: string;
  ttlSeconds?: number;
}

export interface Session {
  token: string;
  exp: number; // seconds since the epoch; 0 when the token does not say
  subject: string;
  tenant: string;
  roles: string[];
}

// store is sessionStorage where the browser allows it; a framed console
// may be refused storage (third-party frames), and then keeps its token in
// memory only, losing it on reload.
const memory = new Map<string, string>();
const store = {
  get(key: string): string | null {
    try {
      return sessionStorage.getItem(key);
    } catch {
      return memory.get(key) ?? null;
    }
  },
  set(key: string, value: string | null) {
    try {
      if (value === null) sessionStorage.removeItem(key);
      else sessionStorage.setItem(key, value);
    } catch {
      if (value === null) memory.delete(key);
      else memory.set(key, value);
    }
  },
};

const devKey = "outbox.console.dev";
const tokenKey = "outbox.console.token";

// decode reads the claims of a JWT without checking it (the API does).
export function decode(token: string): Session | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const c = JSON.parse(json) as { exp?: number; sub?: string; tenant?: string; roles?: string[] };
    return { token, exp: c.exp ?? 0, subject: c.sub ?? "", tenant: c.tenant ?? "", roles: c.roles ?? [] };
  } catch {
    return null;
  }
}

// takeFragmentToken returns the token of #token=… and removes the fragment
// from the address bar and history at once, so it is neither bookmarked nor
// sent on as a referrer.
export function takeFragmentToken(): string | null {
  const hash = window.location.hash;
  if (!hash.startsWith("#")) return null;
  const token = new URLSearchParams(hash.slice(1)).get("token");
  if (!token) return null;
  history.replaceState(history.state, "", window.location.pathname + window.location.search);
  return token;
}

export function storedToken(): string | null {
  return store.get(tokenKey);
}

export function storeToken(token: string | null) {
  store.set(tokenKey, token);
}

export function storedDevParams(): DevParams | null {
  const s = store.get(devKey);
  return s ? (JSON.parse(s) as DevParams) : null;
}

export function forgetDevParams() {
  store.set(devKey, null);
}

const base = import.meta.env.BASE_URL; // "/console/"

// devSignInAvailable reports whether the service offers the development
// sign-in (it does not in production: 404).
export async function devSignInAvailable(): Promise<boolean> {
  try {
    const r = await fetch(base + "dev/token", { headers: { Accept: "application/json" } });
    if (!r.ok) return false;
    const body = (await r.json()) as { devSignIn?: boolean };
    return body.devSignIn === true;
  } catch {
    return false;
  }
}

export class SignInError extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

// devSignIn mints a token with the development sign-in and remembers the
// choice, to mint the next one when this expires.
export async function devSignIn(p: DevParams): Promise<string> {
  const body = p.role === "operator"
    ? { operator: true, subject: p.subject, ttlSeconds: p.ttlSeconds }
    : { tenant: p.tenant, roles: [p.role], subject: p.subject, ttlSeconds: p.ttlSeconds };
  const r = await fetch(base + "dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = (await r.json().catch(() => ({}))) as { token?: string; field?: string; message?: string };
  if (!r.ok || !answer.token) throw new SignInError(answer.message ?? r.statusText, answer.field);
  store.set(devKey, JSON.stringify(p));
  return answer.token;
}

// requestPlatformToken asks the embedding page (parent frame or opener)
// for a new token; it answers with postMessage({type: "outbox:token"}).
export function requestPlatformToken() {
  const peer = window.parent !== window ? window.parent : window.opener;
  if (peer) (peer as Window).postMessage({ type: "outbox:token-request" }, "*");
}

// onPlatformToken calls got with every token the embedding page posts.
// Only the parent frame or the opener may post one; with ?origin= given,
// only from that origin.
export function onPlatformToken(got: (token: string) => void): () => void {
  const want = new URLSearchParams(window.location.search).get("origin");
  const listener = (e: MessageEvent) => {
    if (e.source !== window.parent && e.source !== window.opener) return;
    if (e.source === window) return;
    if (want && e.origin !== want) return;
    const d = e.data as { type?: string; token?: string } | null;
    if (d && d.type === "outbox:token" && typeof d.token === "string") got(d.token);
  };
  window.addEventListener("message", listener);
  return () => window.removeEventListener("message", listener);
}
