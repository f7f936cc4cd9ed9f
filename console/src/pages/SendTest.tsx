import { useMutation } from "@urql/preact";
import { useState } from "preact/hooks";
import { graphql } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { Field, fieldErrors, type FieldErrors } from "./fields";

const SendMutation = graphql(`
  mutation LogsSendTest($input: SendNotificationInput!) {
    sendNotification(input: $input) { id status }
  }
`);

// SendTest is the email log's test form: it sends one notification with a
// subject and text through the tenant's default sender; the log below
// shows it arrive and change status live.
export function SendTest() {
  const { t } = useI18n();
  const [to, setTo] = useState("");
  const [subject, setSubject] = useState(() => t("send.defaultSubject"));
  const [text, setText] = useState(() => t("send.defaultText"));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [notice, setNotice] = useState("");
  const [state, send] = useMutation(SendMutation);

  const submit = async (e: Event) => {
    e.preventDefault();
    setNotice("");
    const r = await send({ input: { to: to.split(/[\s,]+/).filter(Boolean), subject, text } });
    if (r.error) {
      // The API names one recipient ("to[0]"); the form has one field.
      const errs: FieldErrors = {};
      for (const [field, message] of Object.entries(fieldErrors(r.error))) {
        const key = /^to\[\d+\]$/.test(field) ? "to" : field;
        errs[key] = errs[key] ? errs[key] + " " + message : message;
      }
      setErrors(errs);
      return;
    }
    setErrors({});
    setNotice(t("send.queued", { to }));
  };

  return (
    <form class="card send-test" onSubmit={submit} noValidate aria-labelledby="send-test-title" data-testid="send-test-form">
      <h2 id="send-test-title" class="h2">{t("send.title")}</h2>
      <div class="row">
        <Field field="to" label={t("send.to")} errors={errors}>
          {(a) => <input {...a} type="email" autoComplete="email" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />}
        </Field>
        <Field field="subject" label={t("send.subject")} errors={errors}>
          {(a) => <input {...a} value={subject} onInput={(e) => setSubject((e.target as HTMLInputElement).value)} />}
        </Field>
      </div>
      <Field field="text" label={t("send.text")} errors={errors}>
        {(a) => <textarea {...a} rows={2} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />}
      </Field>
      {errors[""] && <p class="error" role="alert" data-testid="form-error">{errors[""]}</p>}
      <div class="actions">
        <button type="submit" class="primary" data-testid="send-message" disabled={state.fetching}>{t("send.submit")}</button>
        {notice && <span class="notice" role="status" data-testid="send-notice">{notice}</span>}
      </div>
    </form>
  );
}
