// Settings > Volcengine: enter, test and remove the Volcengine access key pair without putting it in a workflow.
//
// The setting below renders its own inputs (its `type` is a function) and never calls the setter it is given, so
// nothing typed here reaches comfy.settings.json. The values go only to this pack's routes (POST
// /api/volcengine/credentials), which store them in ComfyUI's user directory with mode 0600; the server never sends
// the secret back: the status shows where the key pair comes from and the last 4 characters of the access key.
//
// Every string comes from locales/<lang>/main.json (volcengine.settings) in the user's Comfy.Locale.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { translator } from "./volcengine_i18n.js";

let translate = (key) => key; // replaced as soon as the pack's locale files are loaded (long before Settings opens)
translator().then((t) => (translate = t));

const ROUTE = "/volcengine/credentials";
const SETTING_ID = "Volcengine.Credentials";

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "style") Object.assign(node.style, value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function request(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await api.fetchApi(path, options);
  } catch (err) {
    return { ok: false, unreachable: true, error: `(${err?.name ?? "error"})` };
  }
  try {
    return await response.json();
  } catch {
    return { ok: false, error: `ComfyUI answered HTTP ${response.status} without JSON.` };
  }
}

function describe(status, t) {
  if (!status || status.ok === false) {
    const text = status?.unreachable ? `${t("settings.unreachable")} ${status.error}` : status?.error;
    return { text: text ?? t("settings.statusUnavailable"), tone: "error" };
  }
  let text;
  let tone = "ok";
  if (status.configured) {
    const key = status.key_hint;
    if (status.source === "environment") {
      text = t("settings.configuredEnv", { names: status.env_names?.join(" / ") ?? "VOLC_ACCESSKEY", key });
    } else if (status.source === "ComfyUI settings") {
      text = t("settings.configuredHere", { key });
    } else {
      text = t("settings.configuredFile", { source: status.source, key });
    }
    if (status.session_token) text += ` ${t("settings.withToken")}`;
    if (status.shadowed) {
      text += ` ${t("settings.shadowed", { key: status.stored_key_hint ?? "…" })}`;
      tone = "warn";
    }
  } else {
    text = t("settings.notConfigured");
    tone = "warn";
  }
  if (status.error && !status.missing) { // "not configured" is said above; a broken file or variable is not
    text += ` ${status.error}`;
    tone = "error";
  }
  if (status.stored && status.stored_private === false) {
    text += ` ${t("settings.worldReadable")}`;
    tone = "warn";
  }
  return { text, tone };
}

/** The Test result's first line, in the user's language; the server's details (gateway words, request id) follow. */
function describeCheck(result, t) {
  const source = result.source === "ComfyUI settings" ? t("settings.sourceSettings") : result.source;
  // Where the user fixes it: the variable, this panel, or the file the key pair came from.
  const variable = result.outcome === "key_not_found" ? "VOLC_ACCESSKEY" : "VOLC_SECRETKEY";
  const where = result.source === "environment" ? variable : source;
  const known = t(`settings.outcome.${result.outcome}`, { key: result.key_hint ?? "…", source: source ?? "",
                                                          where: where ?? "" });
  const first = known.startsWith("settings.") ? result.message : known; // "other": the server's own sentence
  return { text: first, details: result.details ?? "", tone: result.outcome === "ok" ? "ok" : "error" };
}

async function confirmRemove(t) {
  const dialog = app.extensionManager?.dialog;
  if (dialog?.confirm) {
    return (await dialog.confirm({ title: t("settings.removeTitle"), message: t("settings.removeConfirm"),
                                   type: "delete" })) === true;
  }
  return window.confirm(t("settings.removeConfirm"));
}

const TONE_COLOR = {
  ok: "var(--p-green-400, #4ade80)",
  warn: "var(--p-yellow-400, #facc15)",
  error: "var(--error-text, #f87171)",
  info: "var(--descrip-text, #999)",
};

function renderPanel(t) {
  const inputStyle = { width: "100%", boxSizing: "border-box", fontFamily: "monospace" };
  const input = (name, label, type, placeholder) =>
    el("input", {
      type,
      name,
      placeholder,
      className: "p-inputtext p-component",
      autocomplete: type === "password" ? "new-password" : "off",
      spellcheck: false,
      "aria-label": label,
      dataset: { volcField: name },
      style: inputStyle,
    });
  const accessKey = input("access_key", t("settings.accessKey"), "text", t("settings.accessKeyPlaceholder"));
  const secretKey = input("secret_key", t("settings.secretKey"), "password", t("settings.secretKey"));
  const sessionToken = input("session_token", t("settings.sessionToken"), "password", t("settings.sessionToken"));

  const button = (label, action, severity) =>
    el(
      "button",
      {
        type: "button",
        className: `p-button p-component p-button-sm ${severity ? `p-button-${severity}` : ""}`,
        dataset: { volcAction: action },
      },
      el("span", { className: "p-button-label", textContent: label }),
    );
  const saveButton = button(t("settings.save"), "save");
  const checkButton = button(t("settings.test"), "check", "secondary");
  const removeButton = button(t("settings.remove"), "remove", "danger");

  const statusLine = el("div", {
    className: "volcengine-status",
    role: "status",
    style: { fontSize: "0.85rem", lineHeight: "1.3" },
  });
  const messageLine = el("div", {
    className: "volcengine-message",
    role: "alert",
    style: { fontSize: "0.85rem", lineHeight: "1.3", minHeight: "1.1em" },
  });
  const detailsLine = el("div", {
    className: "volcengine-details",
    style: { fontSize: "0.75rem", lineHeight: "1.3", color: TONE_COLOR.info, overflowWrap: "anywhere" },
  });

  const panel = el(
    "div",
    {
      className: "volcengine-credentials",
      style: { display: "flex", flexDirection: "column", gap: "0.4rem", width: "24rem", maxWidth: "100%" },
    },
    statusLine,
    accessKey,
    secretKey,
    sessionToken,
    el("div", { style: { display: "flex", gap: "0.4rem", justifyContent: "flex-end" } }, saveButton, checkButton,
       removeButton),
    messageLine,
    detailsLine,
    el("div", {
      style: { fontSize: "0.75rem", color: TONE_COLOR.info, lineHeight: "1.3" },
      textContent: t("settings.help"),
    }),
  );

  const show = (line, { text, tone }) => {
    line.textContent = text;
    line.style.color = TONE_COLOR[tone] ?? "";
  };
  const setBusy = (busy) => {
    for (const b of [saveButton, checkButton, removeButton]) b.disabled = busy;
  };
  const applyStatus = (status) => {
    show(statusLine, describe(status, t));
    detailsLine.textContent = "";
    removeButton.disabled = !(status && status.stored);
    panel.dataset.configured = String(Boolean(status?.configured));
  };
  const refresh = async () => applyStatus(await request("GET", ROUTE));

  saveButton.addEventListener("click", async () => {
    const body = { access_key: accessKey.value.trim(), secret_key: secretKey.value.trim() };
    if (sessionToken.value.trim()) body.session_token = sessionToken.value.trim();
    if (!body.access_key || !body.secret_key) {
      show(messageLine, { text: t("settings.enterBoth"), tone: "error" });
      return;
    }
    setBusy(true);
    const result = await request("POST", ROUTE, body);
    setBusy(false);
    if (result.ok) {
      accessKey.value = "";
      secretKey.value = "";
      sessionToken.value = "";
      applyStatus(result);
      show(messageLine, { text: t("settings.saved", { key: result.stored_key_hint ?? "…" }), tone: "ok" });
    } else {
      show(messageLine, { text: result.error ?? t("settings.notSaved"), tone: "error" });
      await refresh();
    }
  });

  checkButton.addEventListener("click", async () => {
    setBusy(true);
    show(messageLine, { text: t("settings.testing"), tone: "info" });
    const result = await request("POST", `${ROUTE}/check`, {});
    setBusy(false);
    await refresh();
    if (!result.ok) {
      show(messageLine, { text: result.error ?? t("settings.testCouldNotRun"), tone: "error" });
      return;
    }
    const outcome = describeCheck(result, t);
    show(messageLine, outcome);
    detailsLine.textContent = outcome.details;
    panel.dataset.outcome = result.outcome;
    // A failed test means the nodes will fail too: the status line says so in red, whatever it said before.
    if (result.outcome !== "ok") statusLine.style.color = TONE_COLOR.error;
  });

  removeButton.addEventListener("click", async () => {
    if (!(await confirmRemove(t))) return;
    setBusy(true);
    const result = await request("DELETE", ROUTE);
    setBusy(false);
    if (result.ok) {
      applyStatus(result);
      show(messageLine, { text: t(result.removed ? "settings.removed" : "settings.nothingStored"), tone: "ok" });
    } else {
      show(messageLine, { text: result.error ?? t("settings.notRemoved"), tone: "error" });
      await refresh();
    }
  });

  show(statusLine, { text: t("settings.checking"), tone: "info" });
  removeButton.disabled = true;
  refresh();
  return panel;
}

app.registerExtension({
  name: "Volcengine.CredentialsSettings",
  settings: [
    {
      id: SETTING_ID,
      category: ["Volcengine", "Credentials", "Access key pair"],
      name: "Access key pair",
      tooltip:
        "Used by the Volcengine nodes when VOLC_ACCESSKEY / VOLC_SECRETKEY are not set in the environment. " +
        "Stored on the server, never in workflows or images.",
      // A render function: this setting has no value of its own, so nothing secret is saved with the settings.
      // Its name and tooltip are translated by ComfyUI from locales/<lang>/settings.json (Volcengine_Credentials).
      type: () => renderPanel(translate),
      defaultValue: "",
    },
  ],
});
