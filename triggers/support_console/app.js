// Crosswalk support console: plain JavaScript, no build step. It talks only to the JSON API
// under /api/support/ and puts data on the page as text nodes (never as HTML).
"use strict";

const API = window.location.pathname.replace(/console\/?[^/]*$/, ""); // "/api/support/"
const TOKEN_KEY = "crosswalk.support.token";
const main = document.getElementById("main");

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const badge = (text) => h("span", { class: `badge ${text || ""}` }, text || "—");
const when = (at) => (at ? new Date(at).toLocaleString() : "—");
const recordLink = (key) => h("a", { href: `#/record/${encodeURIComponent(key)}` }, key);

function flash(message, isError) {
  const box = document.getElementById("flash");
  box.replaceChildren(h("div", { class: `msg${isError ? " error" : ""}`, "data-testid": "flash" }, message));
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) showSignIn(true);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function showSignIn(show) {
  document.getElementById("signin").hidden = !show;
}

async function loadWho() {
  try {
    const me = await api("me");
    showSignIn(false);
    document.getElementById("who").textContent =
      `${me.principal.name} · ${me.principal.roles.join(", ")}${me.masked ? " · personal data masked" : ""}`;
    return me.principal;
  } catch (e) {
    document.getElementById("who").textContent = "not signed in";
    return null;
  }
}

function table(columns, rows, empty, testid) {
  if (!rows.length) return h("p", { class: "muted", "data-testid": "empty" }, empty || "Nothing here.");
  return h("table", { "data-testid": testid },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", {}, c.cell(r)))))));
}

function reasonInput(id, placeholder) {
  return h("input", { id, placeholder: placeholder || "reason (required)", "aria-label": "reason", maxlength: 2000 });
}

async function act(button, work, after) {
  button.disabled = true;
  try {
    const result = await work();
    flash(after(result));
  } catch (e) {
    flash(e.message, true);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ record page

async function pageRecord(key) {
  main.replaceChildren(h("p", { class: "muted" }, `Looking up ${key}…`));
  let record;
  try {
    record = await api(`records/${encodeURIComponent(key)}`);
  } catch (e) {
    main.replaceChildren(h("h1", {}, key), h("p", { class: "muted", "data-testid": "not-found" }, e.message));
    return;
  }
  const state = record.state || {};
  const profile = record.profile || {};
  const latest = record.instances[0];
  main.replaceChildren(
    h("h1", { "data-testid": "record-title" }, profile.name || record.accountId, " ", badge(state.status)),
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("h2", {}, "Record"),
        h("dl", {},
          h("dt", {}, "Account Id"), h("dd", { class: "mono" }, record.accountId),
          h("dt", {}, "Sync status"), h("dd", { "data-testid": "sync-status" }, badge(state.status)),
          h("dt", {}, "D2C customer"), h("dd", { class: "mono" }, state.d2c_customer_id || profile.d2c_customer_id || "—"),
          h("dt", {}, "Primary email"), h("dd", { "data-testid": "email" }, profile.primary_email || "—"),
          h("dt", {}, "Attempts"), h("dd", {}, state.attempts ?? "—"),
          h("dt", {}, "Last error"), h("dd", {}, state.last_error ? `${state.last_error.step}: ${state.last_error.detail}` : "—"))),
      h("div", { class: "card" }, h("h2", {}, "Compensation ledger"), ledgerView(record.ledger)),
      latest ? h("div", { class: "card" }, h("h2", {}, "Actions"), actionsView(latest, key)) : null),
    h("h2", {}, "People"),
    table([
      { title: "Name", cell: (p) => [p.first_name, p.last_name].filter(Boolean).join(" ") || "—" },
      { title: "Role", cell: (p) => (p.primary ? "primary" : "contact") },
      { title: "Email", cell: (p) => p.email || "—" },
      { title: "Phone", cell: (p) => p.phone || "—" },
      { title: "Origin", cell: (p) => p.origin },
      { title: "D2C user", cell: (p) => h("span", { class: "mono" }, p.d2c_user_id || "—") },
      { title: "Link", cell: (p) => badge(p.link_state) },
      { title: "Marketing consent", cell: (p) => (p.consent ? `${p.consent.marketing ? "yes" : "no"} (${p.consent.source}, ${when(p.consent.at)})` : "—") },
    ], profile.contacts || [], "No people are known for this record.", "people"),
    h("h2", {}, "Instances"),
    table([
      { title: "Instance", cell: (i) => h("span", { class: "mono" }, i.instanceId) },
      { title: "Workflow", cell: (i) => i.name },
      { title: "Runtime", cell: (i) => badge(i.runtimeStatus) },
      { title: "Stage", cell: (i) => (i.customStatus && i.customStatus.stage) || "—" },
      { title: "Outcome", cell: (i) => (i.output && i.output.outcome) || "—" },
      { title: "Created", cell: (i) => when(i.createdTime) },
      { title: "Trace", cell: traceCell },
    ], record.instances, "No workflow has run for this record."),
    h("h2", {}, "Timeline"),
    h("ol", { class: "timeline", "data-testid": "timeline" }, record.timeline.map((e) =>
      h("li", {}, h("span", { class: "muted" }, when(e.at)), h("span", { class: "src" }, e.source), h("span", {}, e.summary)))),
  );
}

// The operation id (W3C trace id) of the trace the instance's start continued; a link when
// SUPPORT_TRACE_URL says where traces are, so support can jump from the record to its trace.
function traceCell(instance) {
  if (!instance.operationId) return "—";
  if (!instance.traceUrl) return h("span", { class: "mono", "data-testid": "operation-id" }, instance.operationId);
  return h("a", { class: "mono", href: instance.traceUrl, target: "_blank", rel: "noopener", "data-testid": "operation-id" }, instance.operationId);
}

function ledgerView(ledger) {
  if (!ledger) return h("p", { class: "muted" }, "No saga has run.");
  const line = (label, items) => [h("dt", {}, label), h("dd", {}, items && items.length ? items.map((s) => (typeof s === "string" ? s : s.step)).join(", ") : "—")];
  return h("dl", { "data-testid": "ledger" },
    line("Steps done", ledger.steps_done),
    line("Compensated", ledger.compensated),
    line("Pending", ledger.pending),
    line("Failed", ledger.compensation_failed),
    line("In flight", ledger.in_flight));
}

function actionsView(instance, key) {
  const reason = reasonInput("action-reason");
  const buttons = [];
  const waiting = instance.customStatus && instance.customStatus.waiting_for === "ApprovalDecision";
  const running = ["Running", "Pending", "Suspended"].includes(instance.runtimeStatus);
  const synced = instance.output && instance.output.outcome === "synced";
  // a batch (onboard_batch) holds many records: its actions name this one, and it is never
  // cancelled from here (it ends on its own; then Retry or Finish the undo act on this record)
  const batch = instance.name === "onboard_batch";
  const body = () => (batch ? { reason: reason.value, accountId: instance.accountId } : { reason: reason.value });
  if (waiting) {
    for (const decision of ["approve", "reject"]) {
      const b = h("button", { class: decision === "reject" ? "danger" : "", "data-testid": decision, onclick: () => act(b,
        () => api(`approvals/${encodeURIComponent(instance.instanceId)}`, { method: "POST", body: { decision, reason: reason.value } }),
        () => { setTimeout(() => pageRecord(key), 800); return `${decision} sent`; }) }, decision === "approve" ? "Approve" : "Reject");
      buttons.push(b);
    }
  }
  if (running && batch) {
    return h("p", { class: "muted", "data-testid": "held-by-batch" },
      `Held by batch onboarding ${instance.instanceId}: it ends on its own (retries included); then Retry or Finish the undo here act on this record alone.`);
  }
  if (running) {
    const b = h("button", { class: "danger", "data-testid": "cancel", onclick: () => act(b,
      () => api(`instances/${encodeURIComponent(instance.instanceId)}/cancel`, { method: "POST", body: body() }),
      (r) => { setTimeout(() => pageRecord(key), 800); return r.alreadyRequested ? "already being cancelled" : "cancelling; the undo runs once the termination has landed"; }) }, "Cancel and compensate");
    buttons.push(b);
  }
  if ((instance.name === "account_onboarding" || batch) && instance.output && instance.output.outcome === "needs_attention") {
    const b = h("button", { class: "danger", "data-testid": "finish-undo", onclick: () => act(b,
      () => api(`instances/${encodeURIComponent(instance.instanceId)}/undo`, { method: "POST", body: body() }),
      (r) => { setTimeout(() => pageRecord(key), 800); return `undo started: ${r.compensations.join(", ")}`; }) }, "Finish the undo");
    buttons.push(b);
  }
  if (!running && !synced) {
    const b = h("button", { "data-testid": "retry", onclick: () => act(b,
      () => api(`instances/${encodeURIComponent(instance.instanceId)}/retry`, { method: "POST", body: body() }),
      (r) => { setTimeout(() => pageRecord(key), 800); return `retry started (${r.mode}): ${r.instanceId}`; }) }, "Retry");
    buttons.push(b);
  }
  if (!buttons.length) return h("p", { class: "muted" }, "Nothing to do: the record is in step.");
  return h("div", { class: "actions" }, reason, buttons);
}

// ------------------------------------------------------------------ approvals

async function pageApprovals() {
  const data = await api("approvals");
  main.replaceChildren(h("h1", {}, "Approvals waiting"),
    table([
      { title: "Account", cell: (a) => recordLink(a.accountId) },
      { title: "Reasons", cell: (a) => a.reasons.map((r) => r.message || r.code).join("; ") },
      { title: "Waiting", cell: (a) => [`${a.waitingHours ?? "?"} h `, a.overdue ? badge("overdue") : badge(`SLA ${a.slaHours} h`)] },
      { title: "Auto-reject at", cell: (a) => when(a.rejectedAutomaticallyAt) },
      { title: "Decide", cell: (a) => {
        const reason = reasonInput(null);
        const go = (decision) => {
          const b = h("button", { class: decision === "reject" ? "danger" : "", onclick: () => act(b,
            () => api(`approvals/${encodeURIComponent(a.instanceId)}`, { method: "POST", body: { decision, reason: reason.value } }),
            () => { setTimeout(route, 800); return `${decision} sent for ${a.accountId}`; }) }, decision);
          return b;
        };
        return h("div", { class: "actions" }, reason, go("approve"), go("reject"));
      } },
    ], data.items, "No onboarding is waiting for approval."));
}

// ------------------------------------------------------------------ lists and bulk retry

async function pageList(state) {
  const data = await api(`records?state=${encodeURIComponent(state)}&limit=100`);
  const parts = [h("h1", {}, `Records: ${state.replace("_", " ")}`),
    table([
      { title: "Account", cell: (r) => recordLink(r.accountId) },
      { title: "Status", cell: (r) => badge(r.status) },
      { title: "Since", cell: (r) => when(r.since) },
      { title: "Failure reason", cell: (r) => r.failureReason || "—" },
      { title: "Detail", cell: (r) => (r.error && r.error.detail) || "—" },
    ], data.items, "No records in this state.")];
  if (["failed", "compensated", "needs_attention"].includes(state)) parts.push(await bulkRetryView());
  main.replaceChildren(...parts);
}

async function bulkRetryView() {
  const data = await api("failures");
  const select = h("select", { "aria-label": "failure reason", id: "bulk-reason" },
    data.reasons.map((r) => h("option", { value: r.failureReason }, `${r.failureReason} (${r.count})`)));
  const reason = reasonInput("bulk-why");
  const result = h("p", { class: "muted", "data-testid": "bulk-result" });
  const run = (dryRun) => {
    const b = h("button", { class: dryRun ? "secondary" : "", onclick: () => act(b,
      () => api("retries", { method: "POST", body: { failureReason: select.value, reason: reason.value, dryRun } }),
      (r) => {
        const sf = r.salesforce;
        result.textContent = dryRun
          ? `${r.count} record(s) would be retried, using up to ${sf.callsNeeded} Salesforce API calls ` +
            `(${sf.remaining} of ${sf.max} left today; at most ${sf.retriesAllowed} retries keep ${sf.reservePercent}% in reserve)`
          : `${r.started.length} retried, ${r.refused.length} refused`;
        return result.textContent;
      }) },
      dryRun ? "Count (dry run)" : "Retry all");
    return b;
  };
  return h("div", { class: "card" }, h("h2", {}, "Bulk retry by failure reason"),
    data.reasons.length ? h("div", { class: "actions" }, select, reason, run(true), run(false)) : h("p", { class: "muted" }, "No failures to retry."),
    result);
}

// ------------------------------------------------------------------ reports and audit

async function pageReconciliations() {
  const data = await api("reconciliations?limit=10");
  main.replaceChildren(h("h1", {}, "Reconciliation reports"),
    data.items.length ? data.items.map((r) => h("div", { class: "card" },
      h("h2", {}, `${r.run_id} `, badge(r.status), r.dry_run ? " (dry run)" : ""),
      h("p", { class: "muted" }, `${when(r.started_at)} → ${when(r.finished_at)} · ${r.pages} page(s) · repaired ${r.repaired} · failed ${r.failed}`),
      h("p", {}, Object.entries(r.counts || {}).map(([k, v]) => `${k}: ${v}`).join(" · ") || "no counts"),
      table([
        { title: "Account", cell: (f) => recordLink(f.sf_account_id) },
        { title: "Drift", cell: (f) => badge(f.drift) },
        { title: "Reason", cell: (f) => f.reason },
        { title: "Repair", cell: (f) => f.repaired_by || f.repair_error || "—" },
      ], (r.findings || []).slice(0, 50), "No findings."))) : h("p", { class: "muted" }, "No reconciliation has run yet."));
}

// Events Event Grid gave up delivering: they never reached the app, so only a replay to their
// topic brings them back (Support.Approve; each blob is removed once Event Grid took it).
async function pageDeadLetters() {
  const data = await api("deadletters?limit=100");
  const reason = reasonInput("replay-reason");
  const chosen = new Set();
  const rows = data.items.flatMap((b) => (b.events.length ? b.events : [{}]).map((e) => ({ blob: b, e })));
  const pick = (blob) => h("input", { type: "checkbox", "aria-label": `replay ${blob}`, "data-testid": "pick",
    onchange: (ev) => (ev.target.checked ? chosen.add(blob) : chosen.delete(blob)) });
  const result = h("p", { class: "muted", "data-testid": "replay-result" });
  const b = h("button", { "data-testid": "replay", onclick: () => act(b,
    () => api("deadletters/replay", { method: "POST", body: { blobs: [...chosen], reason: reason.value } }),
    (r) => { result.textContent = r.results.map((x) => `${x.outcome}${x.detail ? ` (${x.detail})` : ""}`).join("; ");
      setTimeout(route, 800); return Object.entries(r.counts).map(([k, n]) => `${k} ${n}`).join(", "); }) }, "Replay selected");
  main.replaceChildren(h("h1", {}, "Dead letters: events Event Grid could not deliver"),
    h("p", { class: "muted" }, `${data.total} blob(s) in ${data.container}; newest hour first. ` +
      "They never reached the app: fix the cause, then replay them to their topic."),
    table([
      { title: "", cell: (r) => pick(r.blob.blob) },
      { title: "Dead-lettered", cell: (r) => `${when(r.blob.hour)} · ${r.blob.subscription}` },
      { title: "Event", cell: (r) => h("span", { class: "mono" }, r.e.id || r.blob.problem || "—") },
      { title: "Type", cell: (r) => r.e.type || "—" },
      { title: "Subject", cell: (r) => r.e.subject || "—" },
      { title: "Why", cell: (r) => [badge(r.e.reason), ` ${r.e.outcome || ""}${r.e.httpStatus ? ` ${r.e.httpStatus}` : ""}`] },
      { title: "Attempts", cell: (r) => r.e.attempts ?? "—" },
      { title: "Last attempt", cell: (r) => when(r.e.lastAttemptAt) },
    ], rows, "Event Grid has dead-lettered nothing.", "dead-letters"),
    rows.length ? h("div", { class: "actions" }, reason, b) : null, result);
}

async function pageAudit() {
  const data = await api("audit?limit=100");
  main.replaceChildren(h("h1", {}, "Audit log"),
    table([
      { title: "When", cell: (e) => when(e.at) },
      { title: "Who", cell: (e) => e.actor },
      { title: "Action", cell: (e) => e.action },
      { title: "Record", cell: (e) => (e.target.startsWith("001") ? recordLink(e.target) : e.target) },
      { title: "Why", cell: (e) => e.reason || "—" },
      { title: "Outcome", cell: (e) => badge(e.outcome === "done" ? "done" : "failed") },
    ], data.items, "No support action yet."));
}

async function pageHome() {
  main.replaceChildren(h("h1", {}, "What happened to this account?"),
    h("p", { class: "muted" }, "Search by Salesforce Account Id, D2C customer id or email, or open a list above."));
  const health = await api("health");
  const waiting = health.attention.length
    ? h("ul", { "data-testid": "attention" }, health.attention.map((item) =>
        h("li", {}, h("a", { href: item.page }, `${item.count} ${item.text}`))))
    : h("p", { class: "muted", "data-testid": "attention" }, "Nothing waits for a person.");
  const counts = Object.entries(health.records).sort(([a], [b]) => a.localeCompare(b));
  main.append(
    h("div", { class: "card" }, h("h2", {}, "Waiting for a person"), waiting),
    h("div", { class: "card" }, h("h2", {}, "Records"),
      table([
        { title: "State", cell: ([state]) => state },
        { title: "Records", cell: ([, n]) => String(n) },
      ], counts, "No record yet."),
      h("p", { class: "muted" },
        `Approvals pending ${health.approvals.pending}, overdue ${health.approvals.overdue}. ` +
        (health.salesforceApi
          ? `Salesforce API: ${health.salesforceApi.remaining} of ${health.salesforceApi.max} calls left today.`
          : "Salesforce API allowance unavailable.") +
        (health.partial ? " Counts cover the first 200,000 records." : "")),
      ...(health.relay || []).map((r) => h("p", { class: "muted relay" },
        `Relay ${r.topic}: ${r.relayed} relayed, lag ${r.lagMs == null ? "–" : (r.lagMs / 1000).toFixed(1) + " s"}, ` +
        `checkpoint ${r.checkpointAgeSeconds == null ? "never" : Math.round(r.checkpointAgeSeconds) + " s ago"}` +
        (r.lastError ? `; last error ${r.lastError.kind}: ${r.lastError.message}` : "") +
        (r.lastCatchUp ? `; catch-up since ${r.lastCatchUp.since || "the watermark"} (${r.lastCatchUp.at})` : "")))));
}

// ------------------------------------------------------------------ routing

async function route() {
  const [, page, arg] = (window.location.hash || "#/").split("/");
  document.querySelectorAll("nav a").forEach((a) =>
    a.classList.toggle("active", a.dataset.nav === (page === "list" ? decodeURIComponent(arg || "") : page)));
  try {
    if (page === "record" && arg) await pageRecord(decodeURIComponent(arg));
    else if (page === "approvals") await pageApprovals();
    else if (page === "list" && arg) await pageList(decodeURIComponent(arg));
    else if (page === "reconciliations") await pageReconciliations();
    else if (page === "audit") await pageAudit();
    else if (page === "deadletters") await pageDeadLetters();
    else await pageHome();
  } catch (e) {
    main.replaceChildren(h("p", { class: "muted" }, e.message));
  }
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = document.getElementById("search-key").value.trim();
  if (key) window.location.hash = `#/record/${encodeURIComponent(key)}`;
});
document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  if (await loadWho()) route();
});
window.addEventListener("hashchange", route);
loadWho().then((who) => { if (who) route(); });
