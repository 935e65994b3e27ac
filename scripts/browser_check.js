// A person's check of the pack in a real ComfyUI, in headless Chromium: NOT part of the test suite (CI has neither).
//
//   NODE_PATH=/path/to/node_modules node scripts/browser_check.js --url http://127.0.0.1:8188 --out /tmp/volc-check
//
// Needs a running ComfyUI with this checkout in custom_nodes/ and the Volcengine variables pointing at a stand-in
// (python -m utils.standin prints them), playwright-core (npm install playwright-core) and a Chromium
// (--chromium PATH, default /usr/bin/chromium). For English and Chinese (Comfy.Locale) it:
//   - opens the template browser at this pack's folder and checks every thumbnail fills its card;
//   - opens each template at 1600x900: every node inside the canvas (not under the sidebar, menu or minimap), every
//     link visible (no stretch of it behind another node), our node titles and notes in the UI's language;
//   - types each search word into the node search box and checks the right node is among the first five;
//   - opens Settings > Volcengine: every string in the UI's language, Test works;
//   - runs "Erase painted area" with an unpainted picture: the node's status line in the UI's language.
// Screenshots go to --out (look at them); the exit code is 1 when a check failed, with one line per problem.
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]]
    : pairs), []));
const BASE = (args.url || "http://127.0.0.1:8188").replace(/\/$/, "");
const OUT = args.out || "/tmp/volc-browser-check";
const CHROMIUM = args.chromium || "/usr/bin/chromium";
const PACK = args.pack || "comfyui-volcengine-inpainting";
const LOCALES = (args.locales || "en,zh").split(",");
const CJK = /[\u4e00-\u9fff]/;
const SEARCH = { 消除: "VolcengineInpaintErase", 去除: "VolcengineInpaintErase", 擦除: "VolcengineInpaintErase",
  erase: "VolcengineInpaintErase", remove: "VolcengineInpaintErase", inpaint: "VolcengineInpaintErase",
  watermark: "VolcengineInpaintErase", 水印: "VolcengineInpaintErase", 抠图: "VolcengineSubjectMask" };

const problems = [];
const problem = (text) => { problems.push(text); console.log(`  PROBLEM ${text}`); };
const note = (text) => console.log(`  ${text}`);

async function setSetting(id, value) {
  await fetch(`${BASE}/settings/${id}`, { method: "POST", body: JSON.stringify(value) });
}

async function openApp(browser, locale) {
  await setSetting("Comfy.Locale", locale);
  await setSetting("Comfy.TutorialCompleted", true);
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  page.on("pageerror", (err) => {
    // Only errors from this pack's files count; the front end itself logs one at start-up (a settings onChange).
    if (String(err.stack).includes(`/extensions/${PACK}/`)) problem(`[${locale}] page error: ${err.message}`);
    else note(`(front-end error, not this pack: ${err.message})`);
  });
  await page.goto(BASE, { waitUntil: "networkidle" });
  await page.waitForFunction(() => window.app?.graph && window.app?.canvas);
  await page.waitForTimeout(1500);
  return page;
}

// --- templates -----------------------------------------------------------------------------------------------------

async function templateBrowser(page, locale, names) {
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.BrowseTemplates"));
  await page.waitForTimeout(1500);
  const folder = await page.evaluate(async (pack) => {
    const all = await (await fetch("/i18n")).json();
    const locale = window.app.extensionManager.setting.get("Comfy.Locale");
    return all[locale]?.templateWorkflows?.category?.[pack] ?? pack;
  }, PACK);
  await page.getByText(folder, { exact: true }).first().click();
  await page.waitForTimeout(2000);
  await page.screenshot({ path: path.join(OUT, `templates-${locale}.png`) });
  const cards = await page.evaluate(() => [...document.querySelectorAll(".template-card")].map((card) => {
    const img = card.querySelector("img");
    const box = img?.parentElement.getBoundingClientRect();
    const shown = img ? Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight) : 0;
    return { title: card.innerText.split("\n")[0].trim(), fill: img ? (img.naturalWidth * img.naturalHeight *
      shown * shown) / (box.width * box.height) : 0 };
  }));
  for (const name of names) {
    const card = cards.find((c) => c.title === name);
    if (!card) problem(`[${locale}] no thumbnail card for ${name}`);
    else if (card.fill < 0.95) problem(`[${locale}] ${name}: thumbnail fills ${Math.round(card.fill * 100)}% of card`);
  }
  note(`template folder "${folder}": ${cards.length} cards checked`);
  await page.keyboard.press("Escape");
}

async function openTemplate(page, name) {
  await page.evaluate(async ([pack, name]) => {
    const json = await (await fetch(`/api/workflow_templates/${pack}/${encodeURIComponent(name)}.json`)).json();
    await window.app.loadGraphData(json, true, true, name);
  }, [PACK, name]);
  await page.waitForTimeout(1500);
}

// Geometry of what the user sees: node boxes and link curves in screen pixels, and the free canvas area.
function layout() {
  const app = window.app;
  const canvas = app.canvas;
  const rect = canvas.canvas.getBoundingClientRect();
  const toScreen = ([x, y]) => [rect.left + (x + canvas.ds.offset[0]) * canvas.ds.scale,
    rect.top + (y + canvas.ds.offset[1]) * canvas.ds.scale];
  const box = (el) => { const b = el?.getBoundingClientRect(); return b && b.width ? [b.left, b.top, b.right, b.bottom] : null; };
  const nodes = app.graph.nodes.map((node) => {
    const b = node.getBounding();
    const [x0, y0] = toScreen([b[0], b[1]]);
    const [x1, y1] = toScreen([b[0] + b[2], b[1] + b[3]]);
    const note = node.type === "MarkdownNote" || node.type === "Note";
    return { id: node.id, type: node.type, title: node.title, box: [x0, y0, x1, y1],
      text: note ? String(node.widgets_values?.[0] ?? node.widgets?.[0]?.value ?? "") : "" };
  });
  const links = [];
  for (const link of app.graph.links instanceof Map ? app.graph.links.values() : Object.values(app.graph.links)) {
    if (!link) continue;
    const from = app.graph.getNodeById(link.origin_id);
    const to = app.graph.getNodeById(link.target_id);
    const a = toScreen(from.getConnectionPos(false, link.origin_slot));
    const b = toScreen(to.getConnectionPos(true, link.target_slot));
    const dist = Math.hypot(b[0] - a[0], b[1] - a[1]);
    const c = Math.max(30 * canvas.ds.scale, dist * 0.25);
    const points = [];
    for (let i = 1; i < 40; i++) {
      const t = i / 40, u = 1 - t;
      points.push([u * u * u * a[0] + 3 * u * u * t * (a[0] + c) + 3 * u * t * t * (b[0] - c) + t * t * t * b[0],
        u * u * u * a[1] + 3 * u * u * t * a[1] + 3 * u * t * t * b[1] + t * t * t * b[1]]);
    }
    links.push({ id: link.id, from: link.origin_id, to: link.target_id, type: link.type, points });
  }
  const sidebar = box(document.querySelector(".side-tool-bar-container"));
  const menu = box(document.querySelector(".comfyui-menu"));
  const area = [sidebar ? sidebar[2] : rect.left, menu ? menu[3] : rect.top, window.innerWidth, window.innerHeight];
  return { nodes, links, area, minimap: box(document.querySelector(".litegraph-minimap")) };
}

const inside = (p, b, pad = 0) => p[0] > b[0] + pad && p[0] < b[2] - pad && p[1] > b[1] + pad && p[1] < b[3] - pad;
const overlaps = (a, b) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

async function checkTemplate(page, locale, name) {
  await openTemplate(page, name);
  await page.screenshot({ path: path.join(OUT, `${name}-${locale}.png`) });
  const { nodes, links, area, minimap } = await page.evaluate(layout);
  for (const node of nodes) {
    const [x0, y0, x1, y1] = node.box;
    if (x0 < area[0] || y0 < area[1] || x1 > area[2] || y1 > area[3]) {
      problem(`[${locale}] ${name}: node ${node.id} "${node.title}" is off-screen (${node.box.map(Math.round)})`);
    } else if (minimap && overlaps(node.box, minimap)) {
      problem(`[${locale}] ${name}: node ${node.id} "${node.title}" is under the minimap`);
    }
  }
  for (const link of links) {
    const hidden = link.points.filter((p) => nodes.some((n) => n.id !== link.from && n.id !== link.to &&
      inside(p, n.box, 2)));
    if (hidden.length) problem(`[${locale}] ${name}: link ${link.id} (${link.type}, node ${link.from} -> ${link.to})` +
      ` runs behind a node for ${hidden.length}/39 of its length`);
  }
  const notes = nodes.filter((n) => n.text);
  if (locale.startsWith("zh")) {
    if (!notes.some((n) => CJK.test(n.text) && CJK.test(n.title))) problem(`[${locale}] ${name}: no Chinese note`);
    for (const n of nodes.filter((n) => n.type.startsWith("Volcengine") || !n.text)) {
      if (!CJK.test(n.title)) problem(`[${locale}] ${name}: node ${n.id} title "${n.title}" is not Chinese`);
    }
  } else if (!notes.some((n) => !CJK.test(n.text))) {
    problem(`[${locale}] ${name}: no English note`);
  }
  note(`${name}: ${nodes.length} nodes, ${links.length} links checked`);
}

// --- node search ---------------------------------------------------------------------------------------------------

async function checkSearch(page, locale) {
  const wanted = await page.evaluate(() => Object.fromEntries(Object.entries(LiteGraph.registered_node_types)
    .filter(([type]) => type.startsWith("Volcengine")).map(([type, cls]) => [type, cls.title])));
  await page.evaluate(() => window.app.graph.clear());
  await page.screenshot({ path: path.join(OUT, `search-empty-${locale}.png`) });
  for (const [word, type] of Object.entries(SEARCH)) {
    const box = page.locator(".comfy-vue-node-search-box input").first();
    for (let attempt = 0; attempt < 3 && !(await box.isVisible()); attempt++) {
      await page.mouse.click(700, 450);
      await page.mouse.dblclick(700, 450);
      await box.waitFor({ timeout: 3000 }).catch(() => {});
    }
    await box.fill(word);
    await page.waitForTimeout(600);
    const results = await page.locator(".option-display-name").allInnerTexts();
    const rank = results.findIndex((text) => text.replace(/\s+/g, " ").includes(wanted[type]));
    // Within one kind of match ComfyUI ranks by how often a node is used, so popular core nodes can come first.
    if (rank < 0 || rank > 4) problem(`[${locale}] search "${word}": "${wanted[type]}" is #${rank + 1}, not in the ` +
      `first five (${results.slice(0, 5).map((r) => r.replace(/\s+/g, " ")).join(" | ")})`);
    else note(`search "${word}" -> #${rank + 1} ${wanted[type]}`);
    if (word === "消除") await page.screenshot({ path: path.join(OUT, `search-${locale}.png`) });
    await page.keyboard.press("Escape");
    await page.waitForTimeout(200);
  }
}

// --- settings ------------------------------------------------------------------------------------------------------

async function checkSettings(page, locale) {
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.ShowSettingsDialog"));
  await page.waitForTimeout(800);
  await page.getByText(locale.startsWith("zh") ? "火山引擎" : "Volcengine", { exact: true }).first().click();
  await page.waitForSelector(".volcengine-credentials");
  await page.waitForTimeout(800);
  await page.locator('[data-volc-action="check"]').click();
  await page.waitForFunction(() => document.querySelector(".volcengine-credentials")?.dataset.outcome, null,
    { timeout: 30000 });
  await page.screenshot({ path: path.join(OUT, `settings-${locale}.png`) });
  const texts = await page.evaluate(() => {
    const panel = document.querySelector(".volcengine-credentials");
    const own = [...panel.querySelectorAll("*")].flatMap((el) => [el.placeholder, ...[...el.childNodes]
      .filter((c) => c.nodeType === 3).map((c) => c.textContent)]).filter((t) => t && t.trim());
    const row = panel.closest("tr, .setting-item, li") ?? panel.parentElement.parentElement;
    const status = panel.querySelector(".volcengine-status");
    return { own, label: row?.innerText?.split("\n")[0] ?? "", outcome: panel.dataset.outcome,
      details: panel.querySelector(".volcengine-details")?.textContent ?? "",
      red: /error|248, 113|f87171/i.test(status?.style.color ?? "") };
  });
  const expected = args["settings-test"] || "ok"; // e.g. signature_wrong against a ComfyUI started with a wrong secret
  if (texts.outcome !== expected) problem(`[${locale}] Settings Test: ${texts.outcome}, expected ${expected}`);
  if (expected !== "ok" && !texts.red) problem(`[${locale}] Settings: the status line is not red after a failed Test`);
  if (locale.startsWith("zh")) {
    for (const t of texts.own.filter((t) => !CJK.test(t) && t !== texts.details)) {
      problem(`[${locale}] Settings panel text not Chinese: "${t}"`);
    }
  }
  note(`Settings panel: ${texts.own.length} strings, Test -> ${texts.outcome}`);
  // Save a made-up key pair, then Remove it: ComfyUI's own confirm dialog must ask first.
  await page.fill('[data-volc-field="access_key"]', "AKLTbrowserEXAMPLEcheck1234");
  await page.fill('[data-volc-field="secret_key"]', "browser-EXAMPLE-secret");
  await page.locator('[data-volc-action="save"]').click();
  await page.waitForFunction(() => !document.querySelector('[data-volc-action="remove"]').disabled, null,
    { timeout: 10000 });
  await page.locator('[data-volc-action="remove"]').click();
  const confirm = page.locator(".prompt-dialog-content");
  await confirm.waitFor({ timeout: 5000 }).catch(() => problem(`[${locale}] Remove did not open ComfyUI's dialog`));
  await page.screenshot({ path: path.join(OUT, `settings-remove-${locale}.png`) });
  if (await confirm.isVisible()) {
    await confirm.locator("button").last().click();
    await page.waitForFunction(() => /Removed|已删除/.test(document.querySelector(".volcengine-message")?.textContent),
      null, { timeout: 10000 }).catch(() => problem(`[${locale}] Remove did not say it removed the key pair`));
  }
  await page.keyboard.press("Escape");
}

// --- a run: the status line ----------------------------------------------------------------------------------------

async function upload(page, source, name) {
  return page.evaluate(async ([source, name]) => {
    const png = await (await fetch(`/api/workflow_templates/comfyui-volcengine-inpainting/inputs/${source}`)).blob();
    const form = new FormData();
    form.append("image", new File([png], name));
    form.append("overwrite", "true");
    return (await (await fetch("/upload/image", { method: "POST", body: form })).json()).name;
  }, [source, name]);
}

/** Run the open graph with `file` in Load Image and a fresh seed; the eraser's status lines as they came. */
async function run(page, file) {
  await page.evaluate((file) => {
    window.volcSeen = [];
    const load = window.app.graph.nodes.find((n) => n.type === "LoadImage");
    load.widgets.find((w) => w.name === "image").value = file;
    const eraser = window.app.graph.nodes.find((n) => n.type === "VolcengineInpaintErase");
    eraser.widgets.find((w) => w.name === "seed").value = Math.floor(Math.random() * 1e6); // no cached result
    eraser.widgets.find((w) => w.name === "$$node-text-preview")?.onRemove?.();
    eraser.widgets = eraser.widgets.filter((w) => w.name !== "$$node-text-preview");
    window.volcWatch = setInterval(() => {
      const text = eraser.widgets.find((w) => w.name === "$$node-text-preview")?.value;
      if (text && window.volcSeen.at(-1) !== text) window.volcSeen.push(text);
    }, 20);
  }, file);
  await page.evaluate(() => window.app.queuePrompt(0, 1));
  await page.waitForFunction(() => window.volcSeen.length, null, { timeout: 60000 });
  await page.waitForTimeout(3000);
  return page.evaluate(() => { clearInterval(window.volcWatch); return window.volcSeen; });
}

async function checkRun(page, locale) {
  await openTemplate(page, "Erase painted area · 涂抹消除");
  // A painted picture: "sending 1 call", then "1/1 results ready", in the UI's language.
  const painted = await run(page, await upload(page, "coffee_painted.png", "volc_check_painted.png"));
  await page.screenshot({ path: path.join(OUT, `run-painted-${locale}.png`) });
  note(`status lines of a painted run: ${painted.map((t) => `"${t}"`).join(" -> ")}`);
  const ready = locale.startsWith("zh") ? /已完成 1\/1 个结果/ : /^1\/1 results ready$/;
  if (!ready.test(painted.at(-1) ?? "")) problem(`[${locale}] painted run ended with "${painted.at(-1)}"`);
  // coffee.png has no alpha: Load Image gives its 64x64 empty mask, i.e. nothing is painted.
  const seen = await run(page, await upload(page, "coffee.png", "volc_check_unpainted.png"));
  const status = seen[0];
  const last = seen.at(-1);
  await page.screenshot({ path: path.join(OUT, `run-unpainted-${locale}.png`) });
  note(`status line: "${last}" (first seen "${status}")`);
  if (locale.startsWith("zh") ? !CJK.test(last) : !/Nothing is painted/.test(last)) {
    problem(`[${locale}] status line "${last}" is not in the UI's language or does not say nothing is painted`);
  }
  // The same picture with on_empty_mask = error: ComfyUI's error dialog, whose first line must read at a glance.
  await page.evaluate(() => {
    const eraser = window.app.graph.nodes.find((n) => n.type === "VolcengineInpaintErase");
    eraser.widgets.find((w) => w.name === "on_empty_mask").value = "error";
    eraser.widgets.find((w) => w.name === "seed").value += 1;
  });
  await page.evaluate(() => window.app.queuePrompt(0, 1));
  const dialog = page.locator(".comfy-error-report");
  await dialog.waitFor({ timeout: 60000 }).catch(() => problem(`[${locale}] no error dialog for an unpainted picture`));
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(OUT, `error-dialog-${locale}.png`) });
  const message = (await dialog.locator("p").first().innerText().catch(() => "")).trim();
  const first = message.split("\n")[0];
  note(`error dialog: "${message.replace(/\n/g, " | ")}"`);
  if (first.length > 140 || !/^Nothing is painted: .*Mask Editor.*\.$/.test(first)) {
    problem(`[${locale}] error dialog's first line is not the one-sentence headline: "${first}"`);
  }
  await page.keyboard.press("Escape");
}

(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const ours = (await (await fetch(`${BASE}/api/workflow_templates`)).json())[PACK] ?? [];
  if (!ours.length) problem(`no templates of ${PACK} listed by ${BASE}`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--headless",
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"] });
  try {
    for (const locale of LOCALES) {
      console.log(`== ${locale}`);
      const page = await openApp(browser, locale);
      await templateBrowser(page, locale, ours);
      for (const name of ours) await checkTemplate(page, locale, name);
      await checkSearch(page, locale);
      await checkSettings(page, locale);
      await checkRun(page, locale);
      await page.close();
    }
  } finally {
    await browser.close();
    await setSetting("Comfy.Locale", "en");
  }
  console.log(problems.length ? `${problems.length} problem(s); screenshots in ${OUT}` : `all checks passed; ` +
    `screenshots in ${OUT}`);
  process.exit(problems.length ? 1 : 0);
})().catch((err) => { console.error(err); process.exit(2); });
