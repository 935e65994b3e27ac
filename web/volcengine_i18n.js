// The pack's own strings in the user's language, from locales/<lang>/main.json (ComfyUI serves every pack's
// locales at GET /i18n). The front end translates node definitions, categories and settings names itself; this file
// covers what it cannot: the Settings > Volcengine panel and the status lines the nodes send while they run.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

let catalogs = null; // {en: {...volcengine}, zh: {...}}

async function loadCatalogs() {
  if (!catalogs) {
    catalogs = api
      .getCustomNodesI18n()
      .then((all) => Object.fromEntries(Object.entries(all ?? {}).map(([lang, m]) => [lang, m?.volcengine ?? {}])))
      .catch(() => ({}));
  }
  return catalogs;
}

/** The user's language as ComfyUI uses it (Settings > Comfy > Locale), e.g. "en", "zh", "zh-TW". */
export function userLocale() {
  let locale;
  try {
    locale = app.extensionManager?.setting?.get?.("Comfy.Locale") ?? app.ui?.settings?.getSettingValue?.("Comfy.Locale");
  } catch {
    locale = undefined;
  }
  return locale || navigator.language?.split("-")[0] || "en";
}

function lookup(tree, path) {
  return path.split(".").reduce((node, key) => (node && typeof node === "object" ? node[key] : undefined), tree);
}

function fill(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** A translator for the current locale: t("settings.save"), t("settings.saved", {key: "…0000"}). Falls back to the
 *  base language ("zh-TW" -> "zh"), then English, then the key itself. */
export async function translator() {
  const all = await loadCatalogs();
  return (key, values) => {
    const locale = userLocale(); // read on every call: the user may switch languages without reloading
    const chain = [all[locale], all[locale.split("-")[0]], all.en].filter(Boolean);
    for (const catalog of chain) {
      const text = lookup(catalog, key);
      if (typeof text === "string") return fill(text, values);
    }
    return key;
  };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The node status lines arrive in English (Python formats locales/en/main.json volcengine.status): find which
 *  template produced the line and render the same template in the user's language. */
async function statusTranslator() {
  const all = await loadCatalogs();
  const english = all.en?.status ?? {};
  const patterns = Object.entries(english).map(([key, template]) => {
    const names = [];
    const source = template
      .split(/(\{\w+\})/)
      .map((part) => {
        const m = /^\{(\w+)\}$/.exec(part);
        if (!m) return escapeRegExp(part);
        names.push(m[1]);
        return "(.+?)";
      })
      .join("");
    return { key, names, regex: new RegExp(`^${source}$`) };
  });
  const t = await translator();
  return (text) => {
    for (const { key, names, regex } of patterns) {
      const m = regex.exec(text);
      if (m) return t(`status.${key}`, Object.fromEntries(names.map((n, i) => [n, m[i + 1]])));
    }
    return text;
  };
}

const PREVIEW_WIDGET = "$$node-text-preview"; // the widget ComfyUI's front end shows progress text in

app.registerExtension({
  name: "Volcengine.I18n",
  async setup() {
    let translate = null;
    const ready = statusTranslator().then((f) => (translate = f));
    api.addEventListener("progress_text", async (event) => {
      const detail = event.detail;
      const node = detail?.nodeId != null ? app.graph?.getNodeById?.(detail.nodeId) : null;
      if (!node || !String(node.type ?? "").startsWith("Volcengine") || !detail.text) return;
      if (!translate) await ready;
      const shown = translate(detail.text);
      if (shown === detail.text) return;
      // Whichever listener runs first: the event's text for ComfyUI's own handler, and the widget if it already ran.
      detail.text = shown;
      const widget = node.widgets?.find((w) => w.name === PREVIEW_WIDGET);
      if (widget) {
        widget.value = shown;
        node.setDirtyCanvas?.(true);
      }
    });
  },
});
