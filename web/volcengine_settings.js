// Settings > Volcengine: enter, test and remove the Volcengine access key pair without putting it in a workflow.
//
// The setting below renders its own inputs (its `type` is a function) and never calls the setter it is given, so
// nothing typed here reaches comfy.settings.json. The values go only to this pack's routes (POST
// /api/volcengine/credentials), which store them in ComfyUI's user directory with mode 0600; the server never sends
// the secret back: the status shows where the key pair comes from and the last 4 characters of the access key.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const ROUTE = "/volcengine/credentials";
const SETTING_ID = "Volcengine.Credentials";

const OUTCOME_TEXT = {
  ok: "Works",
  key_not_found: "Access key not found",
  signature_wrong: "Secret key does not match",
  no_permission: "No permission for the visual service",
  network: "Network problem",
  not_configured: "Not configured",
  other: "Failed",
};

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
    return { ok: false, error: `ComfyUI could not be reached (${err?.name ?? "error"}).` };
  }
  try {
    return await response.json();
  } catch {
    return { ok: false, error: `ComfyUI answered HTTP ${response.status} without JSON.` };
  }
}

function describe(status) {
  if (!status || status.ok === false) {
    return { text: status?.error ?? "Status unavailable.", tone: "error" };
  }
  let text;
  let tone = "ok";
  if (status.configured) {
    const key = `access key ${status.key_hint}`;
    if (status.source === "environment") {
      text = `Configured from the environment (${status.env_names?.join(" / ") ?? "VOLC_ACCESSKEY"}), ${key}.`;
    } else if (status.source === "ComfyUI settings") {
      text = `Configured here (stored on the server), ${key}.`;
    } else {
      text = `Configured from ${status.source}, ${key}.`;
    }
    if (status.session_token) text += " With a session token.";
    if (status.shadowed) {
      text += ` The key stored here (${status.stored_key_hint ?? "…"}) is not used: the environment comes first.`;
      tone = "warn";
    }
  } else {
    text = "Not configured: the nodes will fail until a key pair is set here or in the environment.";
    tone = "warn";
  }
  if (status.error && !(status.configured === false && /No Volcengine credentials found/.test(status.error))) {
    text += ` ${status.error}`;
    tone = "error";
  }
  if (status.stored && status.stored_private === false) {
    text += " Warning: the stored file is readable by other users of this machine; save again to fix it.";
    tone = "warn";
  }
  return { text, tone };
}

const TONE_COLOR = {
  ok: "var(--p-green-400, #4ade80)",
  warn: "var(--p-yellow-400, #facc15)",
  error: "var(--error-text, #f87171)",
  info: "var(--descrip-text, #999)",
};

function renderPanel() {
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
  const accessKey = input("access_key", "Access key", "text", "Access key (AK…)");
  const secretKey = input("secret_key", "Secret key", "password", "Secret key");
  const sessionToken = input("session_token", "Session token", "password", "Session token (optional)");

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
  const saveButton = button("Save", "save");
  const checkButton = button("Test", "check", "secondary");
  const removeButton = button("Remove", "remove", "danger");

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
    el("div", {
      style: { fontSize: "0.75rem", color: TONE_COLOR.info, lineHeight: "1.3" },
      textContent:
        "Stored on the ComfyUI server in its user directory (readable by its owner only), never in workflows, " +
        "images or these settings. The secret is never shown again. Environment variables take precedence.",
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
    show(statusLine, describe(status));
    removeButton.disabled = !(status && status.stored);
    panel.dataset.configured = String(Boolean(status?.configured));
  };
  const refresh = async () => applyStatus(await request("GET", ROUTE));

  saveButton.addEventListener("click", async () => {
    const body = { access_key: accessKey.value.trim(), secret_key: secretKey.value.trim() };
    if (sessionToken.value.trim()) body.session_token = sessionToken.value.trim();
    if (!body.access_key || !body.secret_key) {
      show(messageLine, { text: "Enter both the access key and the secret key.", tone: "error" });
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
      show(messageLine, { text: `Saved (access key ${result.stored_key_hint ?? "…"}).`, tone: "ok" });
    } else {
      show(messageLine, { text: result.error ?? "Not saved.", tone: "error" });
      await refresh();
    }
  });

  checkButton.addEventListener("click", async () => {
    setBusy(true);
    show(messageLine, { text: "Testing with one call to the visual service…", tone: "info" });
    const result = await request("POST", `${ROUTE}/check`, {});
    setBusy(false);
    await refresh();
    if (!result.ok) {
      show(messageLine, { text: result.error ?? "The test could not run.", tone: "error" });
      return;
    }
    const title = OUTCOME_TEXT[result.outcome] ?? result.outcome;
    show(messageLine, {
      text: `${title}: ${result.message}`,
      tone: result.outcome === "ok" ? "ok" : "error",
    });
    panel.dataset.outcome = result.outcome;
  });

  removeButton.addEventListener("click", async () => {
    if (!window.confirm("Remove the Volcengine key pair stored on this ComfyUI server?")) return;
    setBusy(true);
    const result = await request("DELETE", ROUTE);
    setBusy(false);
    if (result.ok) {
      applyStatus(result);
      show(messageLine, { text: result.removed ? "Removed." : "Nothing was stored.", tone: "ok" });
    } else {
      show(messageLine, { text: result.error ?? "Not removed.", tone: "error" });
      await refresh();
    }
  });

  show(statusLine, { text: "Checking…", tone: "info" });
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
      type: () => renderPanel(),
      defaultValue: "",
    },
  ],
});
