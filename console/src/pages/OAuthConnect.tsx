import { useMutation, useQuery } from "@urql/preact";
import { useEffect, useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import type { MessageId } from "../i18n/en";
import { fieldErrors, type FieldErrors } from "./fields";

const Connection = graphql(`
  fragment OAuthConnectionFields on OAuthConnection @_unmask {
    id provider status email sender error createdAt connectedAt
  }
`);

const ConnectionsQuery = graphql(`
  query OAuthConnections {
    oauthConnections { ...OAuthConnectionFields }
  }
`, [Connection]);

const StartMutation = graphql(`
  mutation StartOAuthConnection($provider: OAuthProvider!, $sender: String) {
    startOAuthConnection(provider: $provider, sender: $sender) { ...OAuthConnectionFields authorizeUrl }
  }
`, [Connection]);

const DisconnectMutation = graphql(`
  mutation DisconnectOAuth($id: ID!) {
    disconnectOAuth(id: $id)
  }
`);

export type OAuthConnection = ResultOf<typeof Connection>;
type Provider = OAuthConnection["provider"];
const providers: Provider[] = ["GOOGLE", "MICROSOFT"];

interface Props {
  sender: string;
  // preferred is the provider of the chosen preset, offered first.
  preferred?: Provider | null;
  // chosen is the connection the form sends with (SmtpInput.oauthConnection).
  chosen: string;
  onChoose: (c: OAuthConnection | null) => void;
}

// OAuthConnect lets a sender connect a Google or Microsoft 365 mailbox:
// startOAuthConnection gives the link where the owner grants access (in a
// new tab); the page polls the connections until that one leaves PENDING,
// and a CONNECTED one can be chosen for XOAUTH2.
export function OAuthConnect({ sender, preferred, chosen, onChoose }: Props) {
  const { t, date } = useI18n();
  const [{ data }, refetch] = useQuery({ query: ConnectionsQuery });
  const [startState, start] = useMutation(StartMutation);
  const [, disconnect] = useMutation(DisconnectMutation);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [link, setLink] = useState<{ provider: Provider; url: string } | null>(null);

  const mine = (data?.oauthConnections ?? []).filter((c) => c.sender === sender && c.status !== "REVOKED");
  const waiting = mine.some((c) => c.status === "PENDING");
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => refetch({ requestPolicy: "network-only" }), 2000);
    return () => clearInterval(timer);
  }, [waiting]);

  const order = preferred ? [preferred, ...providers.filter((p) => p !== preferred)] : providers;

  const connect = async (provider: Provider) => {
    setErrors({});
    setLink(null);
    const r = await start({ provider, sender });
    if (r.error || !r.data) return setErrors(fieldErrors(r.error, { "": "provider" }));
    const url = r.data.startOAuthConnection.authorizeUrl;
    if (url) setLink({ provider, url });
    refetch({ requestPolicy: "network-only" });
  };
  const drop = async (c: OAuthConnection) => {
    setErrors({});
    const r = await disconnect({ id: c.id });
    if (r.error) return setErrors(fieldErrors(r.error, { "": "provider" }));
    if (c.id === chosen) onChoose(null);
    refetch({ requestPolicy: "network-only" });
  };

  return (
    <div class="oauth" role="group" aria-labelledby="oauth-title">
      <p id="oauth-title" class="oauth-title">{t("oauth.title")}</p>
      <div class="actions">
        {order.map((p) => (
          <button key={p} type="button" data-testid={"oauth-connect-" + p} disabled={startState.fetching}
            aria-describedby={errors["provider"] ? "f-oauth-provider-error" : undefined} onClick={() => connect(p)}>
            {t(("oauth.connect." + p) as MessageId)}
          </button>
        ))}
      </div>
      {errors["provider"] && <p id="f-oauth-provider-error" class="error" data-testid="field-error" data-field="provider">{errors["provider"]}</p>}
      {errors["sender"] && <p class="error" data-testid="field-error" data-field="sender">{errors["sender"]}</p>}
      {link && (
        <p class="notice" role="status">
          <a href={link.url} target="_blank" rel="noopener noreferrer" data-testid="oauth-authorize">
            {t("oauth.open", { provider: link.provider })}
          </a>
        </p>
      )}
      {mine.length === 0 ? <p class="hint">{t("oauth.none")}</p> : (
        <ul class="connections">
          {mine.map((c) => (
            <li key={c.id} data-testid="oauth-connection" data-status={c.status}>
              <label class="check">
                <input type="radio" name="oauth-connection" checked={c.id === chosen} disabled={c.status !== "CONNECTED"}
                  onChange={() => onChoose(c)} />
                <span>
                  {t("oauth.item", { provider: c.provider, email: c.email ?? "—", status: c.status })}
                  <span class="hint"> · {t("oauth.since", { at: date(c.connectedAt ?? c.createdAt) })}</span>
                  {c.error && <span class="error"> {c.error}</span>}
                </span>
              </label>
              <button type="button" class="link" onClick={() => drop(c)}>{t("oauth.disconnect")}</button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
