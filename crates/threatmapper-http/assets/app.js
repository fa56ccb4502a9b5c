// ThreatMapper Pipeline page. Plain ES module, no dependencies; every piece
// of report data is inserted as text (never as HTML).

const $ = (sel, root = document) => root.querySelector(sel);
const state = { me: null, intakeCursors: [], intakeNext: null, report: null, obsCursor: null,
  auditCursor: null, rule: null, sourcesById: new Map() };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

let toastTimer;
function toast(message, kind = "error") {
  const t = $("#toast");
  t.textContent = message;
  t.className = kind === "error" ? "" : "info";
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}

async function api(method, path, body, contentType = "application/json") {
  const init = { method, headers: {} };
  if (method !== "GET") {
    init.headers["content-type"] = contentType;
    init.body = body === undefined ? "{}" : (typeof body === "string" ? body : JSON.stringify(body));
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) {
    const msg = data && data.error ? `${data.error.code}: ${data.error.message}` : `${r.status} ${r.statusText}`;
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return data;
}

const guard = (fn) => async (...args) => {
  try { await fn(...args); } catch (e) { toast(e.message); }
};

function fmtTime(t) { return t ? t.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC") : "—"; }

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
  if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: 9, class: "muted" }, "Nothing here yet.")));
}

// ---- navigation -----------------------------------------------------------
const loaders = {};
function show(view) {
  for (const b of document.querySelectorAll("#tabs button")) b.setAttribute("aria-selected", String(b.dataset.view === view));
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${view}`;
  if (location.hash !== `#${view}`) history.replaceState(null, "", `#${view}`);
  if (loaders[view]) guard(loaders[view])();
}
function setupTabs() {
  const tabs = [...document.querySelectorAll("#tabs button")];
  for (const b of tabs) {
    b.addEventListener("click", () => show(b.dataset.view));
    b.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(b);
      const next = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
      if (next) { next.focus(); show(next.dataset.view); }
    });
  }
}

// ---- identity --------------------------------------------------------------
async function loadMe() {
  state.me = await api("GET", "/api/pipeline/me");
  $("#who").textContent = `${state.me.user} (${state.me.roles.join(", ") || "no role"})${state.me.can_mutate ? "" : " — read-only"}`;
  if (!state.me.can_mutate) {
    for (const e of document.querySelectorAll(".mutate")) e.hidden = true;
    document.body.classList.add("read-only");
  }
}

// ---- intake ------------------------------------------------------------------
const ORIGIN_COLORS = { feed: "#1f5fbf", stix: "#7b3fb8", misp: "#c2410c", atlas: "#0f766e", manual: "#6b7280" };
async function loadActivity() {
  const a = await api("GET", "/api/pipeline/activity?days=30");
  const svg = $("#chart");
  svg.replaceChildren();
  const days = [];
  const today = new Date();
  for (let i = 29; i >= 0; i--) days.push(new Date(today.getTime() - i * 86400000).toISOString().slice(0, 10));
  const perDay = new Map(days.map((d) => [d, {}]));
  for (const c of a.per_day) if (perDay.has(c.day)) perDay.get(c.day)[c.origin] = c.count;
  const max = Math.max(1, ...[...perDay.values()].map((o) => Object.values(o).reduce((s, n) => s + n, 0)));
  const w = 600 / days.length;
  const ns = "http://www.w3.org/2000/svg";
  days.forEach((d, i) => {
    let y = 140;
    for (const [origin, n] of Object.entries(perDay.get(d))) {
      const h = (n / max) * 130;
      y -= h;
      const r = document.createElementNS(ns, "rect");
      r.setAttribute("x", String(i * w + 1)); r.setAttribute("width", String(w - 2));
      r.setAttribute("y", String(y)); r.setAttribute("height", String(h));
      r.setAttribute("fill", ORIGIN_COLORS[origin] || "#999");
      const title = document.createElementNS(ns, "title");
      title.textContent = `${d}: ${n} ${origin}`;
      r.append(title);
      svg.append(r);
    }
  });
  $("#legend").replaceChildren(...Object.entries(ORIGIN_COLORS).map(([o, c]) => { const s = el("span", {}, o); s.style.setProperty("--c", c); return s; }));
  $("#status-counts").replaceChildren(...a.per_status.map((s) => el("div", {}, el("dt", {}, s.status), el("dd", { class: `status-${s.status}` }, s.count))));
}

function intakeQuery(cursor) {
  const f = new FormData($("#intake-filters"));
  const p = new URLSearchParams();
  for (const [k, v] of f.entries()) if (v) p.set(k, v);
  p.set("limit", "50");
  if (cursor) p.set("cursor", cursor);
  return p;
}

async function loadIntake(cursor = null) {
  const page = await api("GET", `/api/pipeline/intake?${intakeQuery(cursor)}`);
  state.intakeNext = page.next_cursor;
  $("#intake-total").textContent = `${page.total} report(s) match`;
  fill($("#intake-table tbody"), page.items.map((r) => el("tr", {},
    el("td", {}, el("button", { class: "link", type: "button", onclick: guard(() => openReport(r.id)) }, r.title || "(untitled)")),
    el("td", {}, r.origin),
    el("td", {}, r.source_id ?? "—"),
    el("td", {}, fmtTime(r.published_at)),
    el("td", {}, r.observable_count),
    el("td", { class: `status-${r.status}` }, r.status))));
  $("#intake-next").disabled = !page.next_cursor;
  $("#intake-prev").disabled = state.intakeCursors.length === 0;
}

/// Byte offsets (UTF-8) to string indexes (UTF-16).
function byteToIndex(text) {
  const map = new Map();
  let bytes = 0, idx = 0;
  for (const ch of text) {
    map.set(bytes, idx);
    const cp = ch.codePointAt(0);
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    idx += ch.length;
  }
  map.set(bytes, idx);
  return map;
}

function highlighted(content, observables) {
  const map = byteToIndex(content);
  const spans = [];
  for (const o of observables) for (const [s, e] of o.spans) if (map.has(s) && map.has(e)) spans.push([map.get(s), map.get(e), o]);
  spans.sort((a, b) => a[0] - b[0]);
  const out = [];
  let at = 0;
  for (const [s, e, o] of spans) {
    if (s < at) continue;
    out.push(content.slice(at, s));
    out.push(el("mark", { title: `${o.kind}: ${o.value}` }, content.slice(s, e)));
    at = e;
  }
  out.push(content.slice(at));
  return out;
}

async function openReport(id) {
  const r = await api("GET", `/api/pipeline/reports/${id}`);
  state.report = r;
  $("#report").hidden = false;
  $("#report-title").textContent = r.title || "(untitled)";
  $("#report-meta").textContent = `#${r.id} · ${r.origin} · ${r.status}${r.review ? ` by ${r.review.reviewed_by}${r.review.reason ? ` (${r.review.reason})` : ""}` : ""} · published ${fmtTime(r.published_at)} · collected ${fmtTime(r.collected_at)}${r.url ? ` · ${r.url}` : ""}${r.tlp ? ` · ${r.tlp}` : ""}`;
  $("#report-content").replaceChildren(...highlighted(r.content, r.observables));
  $("#report-observables").replaceChildren(...r.observables.map((o) => el("li", { title: o.source }, `${o.kind}: ${o.value}`)));
  $("#report-enrichments").replaceChildren(...r.enrichments.map((e) => el("li", {}, `${e.provider} ${e.status} (confidence ${e.confidence}) for observable ${e.observable_id} at ${fmtTime(e.fetched_at)}`)));
  $("#report-rules").replaceChildren(...r.rules.map((x) => el("li", {}, el("button", { class: "link", type: "button", onclick: guard(() => { show("studio"); openRule(x.id); }) }, `${x.language}: ${x.title} (v${x.latest_version})`))));
  const pending = r.status === "pending";
  $("#accept").disabled = !pending;
  $("#reject").disabled = !pending;
  $("#report").scrollIntoView({ block: "start" });
}

async function review(status) {
  const reason = $("#reject-reason").value.trim();
  const body = status === "rejected" ? { status, reason } : { status };
  await api("POST", `/api/pipeline/reports/${state.report.id}/review`, body);
  toast(`Report ${status}`, "info");
  await openReport(state.report.id);
  await loadIntake(state.intakeCursors.at(-1) ?? null);
  await loadActivity();
}

loaders.intake = async () => { await Promise.all([loadActivity(), loadIntake(state.intakeCursors.at(-1) ?? null)]); };

function setupIntake() {
  $("#intake-filters").addEventListener("submit", guard(async (e) => { e.preventDefault(); state.intakeCursors = []; await loadIntake(); }));
  $("#intake-next").addEventListener("click", guard(async () => { state.intakeCursors.push(state.intakeNext); await loadIntake(state.intakeNext); }));
  $("#intake-prev").addEventListener("click", guard(async () => { state.intakeCursors.pop(); await loadIntake(state.intakeCursors.at(-1) ?? null); }));
  $("#accept").addEventListener("click", guard(() => review("accepted")));
  $("#reject").addEventListener("click", guard(() => review("rejected")));
  $("#to-studio").addEventListener("click", () => { $("#gen-form").report.value = state.report.id; show("studio"); });
}

// ---- sources -----------------------------------------------------------------
async function loadSources() {
  const list = await api("GET", "/api/pipeline/sources");
  state.sourcesById = new Map(list.map((s) => [s.id, s]));
  const mutate = state.me && state.me.can_mutate;
  fill($("#sources-table tbody"), list.map((s) => el("tr", {},
    el("td", {}, s.name ? `${s.name} — ${s.url}` : s.url),
    el("td", {}, s.kind),
    el("td", {}, mutate ? el("input", { type: "number", min: 1, value: s.interval_minutes, "aria-label": `Interval of source ${s.id}`, onchange: guard(async (e) => { await api("PATCH", `/api/pipeline/sources/${s.id}`, { interval_minutes: Number(e.target.value) }); await loadSources(); }) }) : `${s.interval_minutes} min`),
    el("td", {}, mutate ? el("input", { type: "checkbox", checked: s.enabled, "aria-label": `Enable source ${s.id}`, onchange: guard(async (e) => { await api("PATCH", `/api/pipeline/sources/${s.id}`, { enabled: e.target.checked }); await loadSources(); }) }) : (s.enabled ? "yes" : "no")),
    el("td", {}, s.last_run_at ? `${fmtTime(s.last_run_at)} ${s.last_status}${s.failure_count ? ` (${s.failure_count} failures)` : ""}` : "never"),
    el("td", {}, fmtTime(s.next_due_at)),
    el("td", { class: "row" },
      mutate ? el("button", { type: "button", onclick: guard(async () => { const r = await api("POST", `/api/pipeline/sources/${s.id}/run`); toast(`Run ${r.status}: fetched ${r.fetched}, new ${r.new}, suppressed ${r.suppressed}${r.error ? ` — ${r.error}` : ""}`, r.status === "ok" || r.status === "not_modified" ? "info" : "error"); await loadSources(); await loadRuns(s.id); }) }, "Run now") : null,
      " ",
      el("button", { type: "button", class: "link", onclick: guard(() => loadRuns(s.id)) }, "Runs"),
      " ",
      mutate ? el("button", { type: "button", class: "link", onclick: guard(async () => { if (!confirm(`Delete source ${s.url}?`)) return; await api("DELETE", `/api/pipeline/sources/${s.id}`); await loadSources(); }) }, "Delete") : null))));
}

async function loadRuns(id) {
  const runs = await api("GET", `/api/pipeline/sources/${id}/runs?limit=20`);
  $("#runs").hidden = false;
  const s = state.sourcesById.get(id);
  $("#runs-title").textContent = `Runs of ${s ? s.url : `source ${id}`}`;
  fill($("#runs-table tbody"), runs.map((r) => el("tr", {},
    el("td", {}, fmtTime(r.started_at)), el("td", { class: r.status === "ok" || r.status === "not_modified" ? "status-accepted" : "status-rejected" }, r.status),
    el("td", {}, r.fetched), el("td", {}, r.new), el("td", {}, r.suppressed), el("td", {}, r.duration_ms), el("td", {}, r.error ?? ""))));
}

loaders.sources = loadSources;
function setupSources() {
  $("#source-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = e.target;
    await api("POST", "/api/pipeline/sources", { url: f.url.value.trim(), kind: f.kind.value, interval_minutes: Number(f.interval_minutes.value), enabled: f.enabled.checked });
    f.url.value = "";
    toast("Source added", "info");
    await loadSources();
  }));
}

// ---- import ------------------------------------------------------------------
const IMPORT_TYPES = { stix: "application/json", misp: "application/json", atlas: "application/yaml", feed: "application/xml" };
function setupImport() {
  $("#import-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = e.target;
    const file = f.file.files[0];
    const text = file ? await file.text() : f.text.value;
    if (!text.trim()) { toast("Choose a file or paste a document"); return; }
    let type = IMPORT_TYPES[f.kind.value];
    if (f.kind.value === "atlas" && text.trim().startsWith("{")) type = "application/json";
    if (f.kind.value === "feed" && text.trim().startsWith("{")) type = "application/feed+json";
    const r = await api("POST", `/api/pipeline/import/${f.kind.value}`, text, type);
    $("#import-result").hidden = false;
    const counts = { "new reports": r.reports, suppressed: r.suppressed, "new observables": r.observables_new, "known observables": r.observables_existing, unsupported: r.unsupported, refused: r.rejected };
    $("#import-counts").replaceChildren(...Object.entries(counts).map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
    $("#import-suppressed").replaceChildren(...r.suppressed_reports.map((s) => el("li", {}, `${s.title} — same ${s.matched} as report ${s.existing_id ?? "?"}`)));
    $("#import-rejected").replaceChildren(...r.rejections.map((x) => el("li", {}, `${x.location}: ${x.reason}`)));
    toast(`Imported ${r.reports} report(s), suppressed ${r.suppressed}`, "info");
  }));
}

// ---- observables ---------------------------------------------------------------
async function loadObservables(more = false) {
  const f = new FormData($("#obs-search"));
  const p = new URLSearchParams();
  for (const [k, v] of f.entries()) if (v) p.set(k, v);
  if (more && state.obsCursor) p.set("cursor", state.obsCursor);
  const page = await api("GET", `/api/pipeline/observables?${p}`);
  state.obsCursor = page.next_cursor;
  const rows = page.items.map((o) => el("tr", {},
    el("td", {}, o.kind),
    el("td", {}, el("button", { class: "link", type: "button", onclick: guard(() => openObservable(o.id)) }, o.value)),
    el("td", {}, o.report_count), el("td", {}, fmtTime(o.first_seen_at)), el("td", {}, o.manual ? `yes${o.created_by ? ` (${o.created_by})` : ""}` : "no")));
  const tbody = $("#obs-table tbody");
  if (more) tbody.append(...rows); else fill(tbody, rows);
  $("#obs-next").disabled = !page.next_cursor;
}

async function openObservable(id) {
  const o = await api("GET", `/api/pipeline/observables/${id}`);
  state.observable = o;
  $("#obs-detail").hidden = false;
  $("#obs-title").textContent = `${o.kind}: ${o.value}`;
  $("#enrich").disabled = !(o.kind === "ipv4" || o.kind === "domain");
  $("#obs-evidence").replaceChildren(...o.enrichments.map((e) => el("li", {},
    el("strong", {}, `${e.provider} · ${e.status}`), ` · confidence ${e.confidence} · ${fmtTime(e.fetched_at)} · by ${e.requested_by}`,
    el("pre", {}, JSON.stringify(e.summary, null, 2)))));
  if (!o.enrichments.length) $("#obs-evidence").append(el("li", { class: "muted" }, "No enrichment yet."));
}

loaders.observables = () => loadObservables();
function setupObservables() {
  $("#obs-search").addEventListener("submit", guard(async (e) => { e.preventDefault(); await loadObservables(); }));
  $("#obs-next").addEventListener("click", guard(() => loadObservables(true)));
  $("#obs-add").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = e.target;
    const r = await api("POST", "/api/pipeline/observables", { kind: f.kind.value, value: f.value.value, note: f.note.value || null });
    toast(r.created ? `Added ${r.observable.value}` : `${r.observable.value} was already known`, "info");
    f.value.value = ""; f.note.value = "";
    await loadObservables();
  }));
  $("#enrich").addEventListener("click", guard(async () => {
    const e = await api("POST", `/api/pipeline/observables/${state.observable.id}/enrich`);
    toast(`RDAP: ${e.status}`, e.status === "ok" ? "info" : "error");
    await openObservable(state.observable.id);
  }));
}

// ---- Detection Studio ------------------------------------------------------------
async function loadRules() {
  const rules = await api("GET", "/api/pipeline/rules?limit=200");
  $("#rule-list").replaceChildren(...rules.map((r) => el("li", {}, el("button", { type: "button", "aria-current": state.rule && state.rule.id === r.id ? "true" : null, onclick: guard(() => openRule(r.id)) }, `${r.language} · ${r.title} · v${r.latest_version}`))));
}

async function openRule(id, version = null) {
  const r = await api("GET", `/api/pipeline/rules/${id}`);
  state.rule = r;
  $("#rule-title").textContent = `${r.language.toUpperCase()}: ${r.title} (report ${r.report_id ?? "—"})`;
  const options = (sel) => sel.replaceChildren(...r.versions.map((v) => el("option", { value: v.version }, `v${v.version} · ${v.status} · ${v.author}`)));
  options($("#version-select"));
  options($("#compare-select"));
  const v = version ?? r.latest_version;
  $("#version-select").value = String(v);
  $("#compare-select").value = String(Math.max(1, v - 1));
  showVersion(v);
  await loadRules();
}

function showVersion(n) {
  const v = state.rule.versions.find((x) => x.version === Number(n));
  $("#rule-text").value = v.content;
  $("#diff").hidden = true;
  renderDiagnostics(v.status, v.diagnostics);
}

function renderDiagnostics(status, diags) {
  $("#rule-status").textContent = status === "ready" ? "Ready: no findings." : status === "needs_analyst" ? "Needs an analyst: replace REPLACE_WITH_BEHAVIOR before production." : "Invalid: fix the errors below.";
  $("#diagnostics").replaceChildren(...diags.map((d) => el("li", { class: d.severity },
    el("button", { class: "link", type: "button", onclick: () => jumpTo(d.line, d.column) }, `line ${d.line}:${d.column}`),
    ` ${d.severity} ${d.code}: ${d.message}`)));
}

function jumpTo(line, column) {
  const ta = $("#rule-text");
  const lines = ta.value.split("\n");
  let pos = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
  pos += Math.max(0, column - 1);
  ta.focus();
  ta.setSelectionRange(pos, pos);
}

/// Line diff (longest common subsequence), bounded to 2000×2000 lines.
function diffLines(a, b) {
  a = a.slice(0, 2000); b = b.slice(0, 2000);
  const n = a.length, m = b.length;
  const dp = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push(["  ", a[i]]); i++; j++; }
    else if (i < n && (j === m || dp[i + 1][j] >= dp[i][j + 1])) { out.push(["- ", a[i]]); i++; }
    else { out.push(["+ ", b[j]]); j++; }
  }
  return out;
}

loaders.studio = loadRules;
function setupStudio() {
  $("#gen-form").addEventListener("submit", guard(async (e) => {
    e.preventDefault();
    const f = e.target;
    const r = await api("POST", `/api/pipeline/reports/${f.report.value}/rules`, { language: f.language.value });
    toast(`Generated ${r.rules.length} rule(s)`, "info");
    await openRule(r.rules[0].id);
  }));
  $("#version-select").addEventListener("change", (e) => showVersion(e.target.value));
  $("#validate").addEventListener("click", guard(async () => {
    const r = await api("POST", "/api/pipeline/rules/validate", { language: state.rule.language, content: $("#rule-text").value });
    renderDiagnostics(r.status, r.diagnostics);
  }));
  $("#save-version").addEventListener("click", guard(async () => {
    const v = await api("POST", `/api/pipeline/rules/${state.rule.id}/versions`, { content: $("#rule-text").value });
    toast(`Saved version ${v.version} (${v.status})`, "info");
    await openRule(state.rule.id, v.version);
  }));
  $("#compare").addEventListener("click", () => {
    if (!state.rule) return;
    const other = state.rule.versions.find((x) => x.version === Number($("#compare-select").value));
    const diff = diffLines(other.content.split("\n"), $("#rule-text").value.split("\n"));
    $("#diff").replaceChildren(el("span", { class: "muted" }, `v${other.version} → editor\n`), ...diff.map(([t, line]) => el("span", { class: t === "+ " ? "add" : t === "- " ? "del" : "" }, `${t}${line}\n`)));
    $("#diff").hidden = false;
  });
}

// ---- audit -----------------------------------------------------------------------
async function loadAudit(more = false) {
  const f = new FormData($("#audit-filters"));
  const p = new URLSearchParams({ limit: "100" });
  for (const [k, v] of f.entries()) if (v) p.set(k, v);
  if (more && state.auditCursor) p.set("cursor", state.auditCursor);
  const page = await api("GET", `/api/pipeline/audit?${p}`);
  state.auditCursor = page.next_cursor;
  const rows = page.items.map((e) => el("tr", {},
    el("td", {}, e.seq), el("td", {}, fmtTime(e.at)), el("td", {}, `${e.actor}${e.roles.length ? ` (${e.roles.join(", ")})` : ""}`),
    el("td", {}, e.action), el("td", {}, e.target), el("td", { class: e.outcome === "ok" ? "status-accepted" : "status-rejected" }, e.outcome),
    el("td", {}, el("code", {}, JSON.stringify(e.details).slice(0, 300)))));
  const tbody = $("#audit-table tbody");
  if (more) tbody.append(...rows); else fill(tbody, rows);
  $("#audit-next").disabled = !page.next_cursor;
}

loaders.audit = () => loadAudit();
function setupAudit() {
  $("#audit-filters").addEventListener("submit", guard(async (e) => { e.preventDefault(); await loadAudit(); }));
  $("#audit-next").addEventListener("click", guard(() => loadAudit(true)));
  $("#verify").addEventListener("click", guard(async () => {
    const v = await api("GET", "/api/pipeline/audit/verify");
    const out = $("#verify-result");
    out.textContent = v.ok ? `Chain intact: ${v.checked} event(s) verified.` : `Chain BROKEN at event ${v.first_bad_seq}: ${v.problem}`;
    out.className = v.ok ? "status-accepted" : "status-rejected";
  }));
}

// ---- start -------------------------------------------------------------------------
async function start() {
  setupTabs(); setupIntake(); setupSources(); setupImport(); setupObservables(); setupStudio(); setupAudit();
  try { await loadMe(); } catch (e) { toast(e.message); }
  const view = location.hash.slice(1);
  show(["intake", "sources", "import", "observables", "studio", "audit"].includes(view) ? view : "intake");
  document.body.dataset.ready = "true";
}
start();
