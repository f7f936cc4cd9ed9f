import { useI18n } from "../i18n/i18n";

// SenderPicker chooses the sender a page is about; it shows only when the
// tenant has more than one.
export function SenderPicker(props: { senders: { key: string; name: string }[]; current: string; onPick: (key: string) => void }) {
  const { t } = useI18n();
  if (props.senders.length < 2) return null;
  return (
    <div class="field inline">
      <label for="sender-pick">{t("settings.sender")}</label>
      <select id="sender-pick" value={props.current} onChange={(e) => props.onPick((e.target as HTMLSelectElement).value)}>
        {props.senders.map((s) => <option key={s.key} value={s.key}>{s.name} ({s.key})</option>)}
      </select>
    </div>
  );
}
