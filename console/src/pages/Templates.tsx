import { useClient, useMutation, useQuery } from "@urql/preact";
import type { CombinedError } from "@urql/core";
import { useEffect, useRef, useState } from "preact/hooks";
import { graphql, type ResultOf } from "../graphql";
import { useI18n } from "../i18n/i18n";
import { fieldErrors, type FieldErrors } from "./fields";

const TemplatesQuery = graphql(`
  query TemplatesPage { templates { key subject text html category builtIn updatedAt } }
`);

const PreviewQuery = graphql(`
  query TemplatePreview($input: TemplatePreviewInput!) { templatePreview(input: $input) { subject text html } }
`);

const Upsert = graphql(`
  mutation UpsertTemplate($input: TemplateInput!) {
    upsertTemplate(input: $input) { key subject text html category builtIn updatedAt }
  }
`);

type Template = ResultOf<typeof TemplatesQuery>["templates"][number];
type Preview = ResultOf<typeof PreviewQuery>["templatePreview"];

interface Draft {
  key: string; subject: string; text: string; html: string; category: "TRANSACTIONAL" | "SUBSCRIPTION"; variables: string;
}

const blank: Draft = { key: "", subject: "", text: "", html: "", category: "TRANSACTIONAL", variables: "{}" };

// errorLine reads the line an API error names ("line 3: …").
export function errorLine(message: string | undefined): number | null {
  const m = message ? /\bline (\d+)\b/.exec(message) : null;
  return m ? Number(m[1]) : null;
}

// Templates lists the tenant's templates (built-in defaults included) and
// edits one: subject, text and HTML with line numbers, the API's errors
// shown at the line they name, a preview with sample variables, and save.
export function Templates() {
  const { t, date } = useI18n();
  const client = useClient();
  const [{ data, error }, refetch] = useQuery({ query: TemplatesQuery });
  const [saveState, save] = useMutation(Upsert);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [isNew, setIsNew] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [notice, setNotice] = useState("");
  const editorHeading = useRef<HTMLHeadingElement>(null);
  const [opened, setOpened] = useState(0);

  const open = (tpl: Template | null) => {
    setDraft(tpl
      ? { key: tpl.key, subject: tpl.subject, text: tpl.text ?? "", html: tpl.html ?? "", category: tpl.category, variables: "{}" }
      : { ...blank });
    setIsNew(!tpl);
    setErrors({});
    setPreview(null);
    setNotice("");
    setOpened((n) => n + 1);
  };
  useEffect(() => { if (opened) editorHeading.current?.focus(); }, [opened]);

  const set = (k: keyof Draft) => (e: Event) => {
    setDraft({ ...draft!, [k]: (e.target as HTMLInputElement).value });
    setNotice("");
  };

  const variables = (): { ok: true; value: unknown } | { ok: false } => {
    try {
      const v = JSON.parse(draft!.variables || "{}");
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
      return { ok: true, value: v };
    } catch {
      setErrors({ variables: t("templates.variablesInvalid") });
      return { ok: false };
    }
  };
  const show = (err: CombinedError) => setErrors(fieldErrors(err));

  const doPreview = async () => {
    const v = variables();
    if (!v.ok) return;
    setPreviewing(true);
    const d = draft!;
    const r = await client.query(PreviewQuery, {
      input: { key: d.key || undefined, subject: d.subject, text: d.text, html: d.html, variables: v.value },
    }, { requestPolicy: "network-only" }).toPromise();
    setPreviewing(false);
    if (r.error) {
      show(r.error);
      setPreview(null);
      return;
    }
    setErrors({});
    setPreview(r.data?.templatePreview ?? null);
  };
  const doSave = async (e: Event) => {
    e.preventDefault();
    const d = draft!;
    const r = await save({ input: { key: d.key, subject: d.subject, text: d.text || null, html: d.html || null, category: d.category } });
    if (r.error) {
      show(r.error);
      return;
    }
    setErrors({});
    setIsNew(false);
    setNotice(t("templates.saved", { key: d.key }));
    refetch({ requestPolicy: "network-only" });
  };

  const list = data?.templates ?? [];
  return (
    <section class="templates">
      <h1>{t("templates.title")}</h1>
      {error && <p class="error" role="alert">{t("common.error", { message: error.message })}</p>}
      <div class="templates-grid">
        <nav class="card template-list" aria-labelledby="templates-list-title">
          <h2 id="templates-list-title" class="h2">{t("templates.list", { n: list.length })}</h2>
          <ul>
            {list.map((tpl) => (
              <li key={tpl.key}>
                <button type="button" class="link" data-testid="template-item" data-key={tpl.key}
                  aria-current={draft?.key === tpl.key && !isNew ? "true" : undefined} onClick={() => open(tpl)}>
                  {tpl.key}
                </button>
                <div class="hint">
                  {t("templates.category", { category: tpl.category })}
                  {" · "}
                  {tpl.builtIn ? t("templates.builtIn") : tpl.updatedAt ? t("templates.updated", { at: date(tpl.updatedAt) }) : ""}
                </div>
              </li>
            ))}
          </ul>
          <button type="button" data-testid="new-template" onClick={() => open(null)}>{t("templates.new")}</button>
        </nav>

        {draft ? (
          <form class="card editor" onSubmit={doSave} aria-labelledby="template-editor-title">
            <h2 id="template-editor-title" class="h2" tabIndex={-1} ref={editorHeading}>
              {isNew ? t("templates.newTitle") : t("templates.editTitle", { key: draft.key })}
            </h2>
            {errors[""] && <p class="error" role="alert">{errors[""]}</p>}
            {notice && <p class="notice" role="status">{notice}</p>}
            <div class="row">
              <div class="field">
                <label for="tf-key">{t("templates.key")}</label>
                <input id="tf-key" value={draft.key} onInput={set("key")} readOnly={!isNew} required
                  aria-invalid={!!errors.key} aria-describedby={errors.key ? "tf-key-error" : undefined} />
                {errors.key && <p id="tf-key-error" class="error" data-testid="field-error" data-field="key">{errors.key}</p>}
              </div>
              <div class="field">
                <label for="tf-category">{t("templates.categoryLabel")}</label>
                <select id="tf-category" value={draft.category} onChange={set("category")}>
                  <option value="TRANSACTIONAL">{t("templates.category", { category: "TRANSACTIONAL" })}</option>
                  <option value="SUBSCRIPTION">{t("templates.category", { category: "SUBSCRIPTION" })}</option>
                </select>
              </div>
            </div>
            <CodeField id="tf-subject" field="subject" label={t("templates.subject")} value={draft.subject} rows={1}
              onInput={set("subject")} error={errors.subject} />
            <CodeField id="tf-text" field="text" label={t("templates.text")} value={draft.text} rows={10}
              onInput={set("text")} error={errors.text} />
            <CodeField id="tf-html" field="html" label={t("templates.html")} value={draft.html} rows={10}
              onInput={set("html")} error={errors.html} />
            <CodeField id="tf-variables" field="variables" label={t("templates.variables")} value={draft.variables} rows={4}
              onInput={set("variables")} error={errors.variables} hint={t("templates.variablesHint")} />
            <div class="actions">
              <button type="button" data-testid="preview-template" onClick={doPreview} disabled={previewing}>{t("templates.preview")}</button>
              <button type="submit" class="primary" data-testid="save-template" disabled={saveState.fetching}>{t("templates.save")}</button>
            </div>
            {preview && (
              <section class="preview" data-testid="template-preview" aria-labelledby="preview-title">
                <h3 id="preview-title" class="h3">{t("templates.previewTitle")}</h3>
                <p><strong>{t("templates.subject")}:</strong> <span data-testid="preview-subject">{preview.subject}</span></p>
                {preview.text && <pre class="preview-text" data-testid="preview-text">{preview.text}</pre>}
                {preview.html && (
                  <iframe class="preview-html" title={t("templates.previewHtml")} sandbox="" srcdoc={preview.html} data-testid="preview-html" />
                )}
              </section>
            )}
          </form>
        ) : (
          <p class="card hint">{t("templates.pick")}</p>
        )}
      </div>
    </section>
  );
}

interface CodeFieldProps {
  id: string; field: string; label: string; value: string; rows: number; error?: string; hint?: string;
  onInput: (e: Event) => void;
}

// CodeField is a textarea with line numbers; an error that names a line
// marks that line's number and shows the message beside it.
function CodeField({ id, field, label, value, rows, error, hint, onInput }: CodeFieldProps) {
  const { t } = useI18n();
  const gutter = useRef<HTMLDivElement>(null);
  const lines = Math.max(value.split("\n").length, rows);
  const bad = errorLine(error);
  const described = [hint ? id + "-hint" : "", error ? id + "-error" : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class="field code-field">
      <label for={id}>{label}</label>
      <div class={"code" + (error ? " invalid" : "")}>
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => (
            <div key={i} class={i + 1 === bad ? "bad" : undefined} data-testid={i + 1 === bad ? "error-line" : undefined}
              data-line={i + 1}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea id={id} value={value} rows={rows} spellcheck={false} wrap="off" onInput={onInput}
          onScroll={(e) => { if (gutter.current) gutter.current.scrollTop = (e.target as HTMLTextAreaElement).scrollTop; }}
          aria-invalid={!!error} aria-describedby={described} />
        {bad != null && bad <= lines && (
          <div class="line-error" style={{ top: `calc(${bad - 1} * var(--code-line) + 6px)` }} aria-hidden="true">
            {t("templates.lineMark", { line: bad })}
          </div>
        )}
      </div>
      {hint && <p id={id + "-hint"} class="hint">{hint}</p>}
      {error && (
        <p id={id + "-error"} class="error" data-testid="field-error" data-field={field} data-line={bad ?? undefined}>
          {bad != null ? t("templates.errorAt", { line: bad, message: error.replace(/^line \d+:\s*/, "") }) : error}
        </p>
      )}
    </div>
  );
}
