import type { ComponentChildren } from "preact";
import type { CombinedError } from "@urql/core";

// fieldId is the id of the input of an API field path like smtp.host.
export const fieldId = (field: string) => "f-" + field.replace(/\./g, "-");

// FieldErrors maps API field paths (extensions.field) to their messages;
// "" holds errors that name no field.
export type FieldErrors = Record<string, string>;

// fieldErrors sorts the errors of an answer by extensions.field; rename
// moves the errors of a field (or of none, "") to an input of another name.
export function fieldErrors(err: CombinedError | undefined, rename: Record<string, string> = {}): FieldErrors {
  const out: FieldErrors = {};
  if (!err) return out;
  if (err.networkError) out[""] = err.networkError.message;
  for (const e of err.graphQLErrors) {
    let field = typeof e.extensions?.field === "string" ? e.extensions.field : "";
    if (field in rename && (field !== "" || e.extensions?.code === "INVALID_INPUT")) field = rename[field];
    out[field] = out[field] ? out[field] + " " + e.message : e.message;
  }
  return out;
}

interface FieldProps {
  field: string;
  label: string;
  errors: FieldErrors;
  hint?: ComponentChildren;
  children: (a: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ComponentChildren;
}

// Field is a labelled input with its hint and the API's error for it,
// both tied to the input by aria-describedby.
export function Field({ field, label, errors, hint, children }: FieldProps) {
  const id = fieldId(field);
  const error = errors[field];
  const described = [hint ? id + "-hint" : "", error ? id + "-error" : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children({ id, "aria-invalid": !!error, "aria-describedby": described })}
      {hint && <p id={id + "-hint"} class="hint">{hint}</p>}
      {error && <p id={id + "-error"} class="error" data-testid="field-error" data-field={field}>{error}</p>}
    </div>
  );
}
