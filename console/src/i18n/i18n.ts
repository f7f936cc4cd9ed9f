import { IntlMessageFormat } from "intl-messageformat";
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { de } from "./de";
import { en, type MessageId, type Messages } from "./en";
import { ja } from "./ja";

export type Lang = "en" | "ja" | "de";
export const langs: Lang[] = ["en", "ja", "de"];
const catalogs: Record<Lang, Messages> = { en, ja, de };

// pickLang returns ?lang= when it names a language the console has, else
// the first of the browser's languages it has, else English.
export function pickLang(search: string, browser: readonly string[]): Lang {
  const asked = new URLSearchParams(search).get("lang");
  if (asked && (langs as string[]).includes(asked)) return asked as Lang;
  for (const tag of browser) {
    const base = tag.toLowerCase().split("-")[0];
    if ((langs as string[]).includes(base)) return base as Lang;
  }
  return "en";
}

export type Translate = (id: MessageId, values?: Record<string, unknown>) => string;

export interface I18n {
  lang: Lang;
  t: Translate;
  date: (iso: string) => string;
  list: (items: string[]) => string;
}

// makeI18n compiles each ICU message of lang once, on first use.
export function makeI18n(lang: Lang): I18n {
  const cache = new Map<MessageId, IntlMessageFormat>();
  const t: Translate = (id, values) => {
    let f = cache.get(id);
    if (!f) {
      f = new IntlMessageFormat(catalogs[lang][id] ?? en[id], lang);
      cache.set(id, f);
    }
    return String(f.format(values as Record<string, string>));
  };
  const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
  const lists = new Intl.ListFormat(lang, { style: "long", type: "conjunction" });
  return { lang, t, date: (iso) => dates.format(new Date(iso)), list: (items) => lists.format(items) };
}

export const I18nContext = createContext<I18n>(makeI18n("en"));
export const useI18n = () => useContext(I18nContext);
