// Sluice approver console. Plain JavaScript, no build step, served from Sluice itself under a
// Content-Security-Policy that allows only same-origin scripts and styles: nothing here writes
// HTML from strings, every value reaches the page as text.
"use strict";

const TOKEN_KEY = "sluice.console.token";
const POLL_MS = 3000;

const state = { token: null, me: null, view: "review", timer: null, busy: new Set() };

const $ = (id) => document.getElementById(id);

/** An element with classes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "network", "Sluice cannot be reached: " + e.message);
  }
  let json = null;
  try {
    json = await response.json();
  } catch (_) {
    // Not JSON: reported below by status.
  }
  if (!response.ok) {
    const error = (json && json.error) || {};
    throw new ApiError(response.status, error.code || String(response.status), error.message || response.statusText);
  }
  return json;
}

// ---------- Rendering helpers ----------

function banner(message, kind) {
  const node = $("banner");
  node.textContent = message || "";
  node.className = "banner " + (kind || "error");
  node.hidden = !message;
}

function describeError(e) {
  if (e.code === "unauthenticated") return `The token was not accepted (${e.code}): ${e.message}`;
  return `${e.message} (${e.code})`;
}

/** A time in the browser's zone, with UTC on hover. */
function time(ms) {
  const date = new Date(ms);
  return el("time", { datetime: date.toISOString(), title: date.toISOString().replace(".000Z", "Z") + " (UTC)" }, date.toLocaleString());
}

function relative(ms) {
  const seconds = Math.round((ms - Date.now()) / 1000);
  const span = Math.abs(seconds);
  const text = span < 60 ? `${span}s` : span < 3600 ? `${Math.floor(span / 60)}m` : span < 86400 ? `${Math.floor(span / 3600)}h ${Math.floor((span % 3600) / 60)}m` : `${Math.floor(span / 86400)}d`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function duration(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const KEYWORDS = new Set(("select from where and or not in is null insert into values update set delete join left right inner outer full cross on as group by order having limit offset union all distinct case when then else end between like exists returning with create alter drop table index view truncate begin commit rollback asc desc true false").split(" "));

/** The statement as Sluice will run it, syntax-highlighted with spans (text only). */
function sql(text) {
  const code = el("code", { class: "sql" });
  const pattern = /('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|--[^\n]*|\/\*[\s\S]*?\*\/|\$\d+|\?\d*|\b\d+(?:\.\d+)?\b|\b[A-Za-z_][A-Za-z0-9_]*\b|\s+|.)/g;
  for (const [token] of text.matchAll(pattern)) {
    let kind = null;
    if (token.startsWith("'")) kind = "str";
    else if (token.startsWith("--") || token.startsWith("/*")) kind = "com";
    else if (/^(\$\d+|\?\d*)$/.test(token)) kind = "param";
    else if (/^\d/.test(token)) kind = "num";
    else if (KEYWORDS.has(token.toLowerCase())) kind = "kw";
    code.append(kind ? el("span", { class: kind }, token) : document.createTextNode(token));
  }
  return el("pre", { class: "statement" }, code);
}

function field(label, ...value) {
  return [el("dt", {}, label), el("dd", {}, ...value)];
}

function what(item) {
  if (item.template) return [el("dt", {}, "Role template"), el("dd", {}, el("strong", {}, item.template))];
  if (item.relation) {
    return [
      ...field("Relation", el("strong", {}, item.relation.relation)),
      ...field("Statement kinds", item.relation.statements.join(", ")),
    ];
  }
  if (item.statement) {
    const s = item.statement;
    const out = [...field("Kind", s.kind), el("dt", {}, "Statement"), el("dd", { class: "wide" }, sql(s.text))];
    if (s.params && s.params.length) out.push(...field("Parameters", JSON.stringify(s.params)));
    if (s.relations && s.relations.length) out.push(...field("Relations", s.relations.join(", ")));
    return out;
  }
  return [];
}

function statusBadge(status, extra) {
  return el("span", { class: `badge ${status}` }, status + (extra ? ` · ${extra}` : ""));
}

/** A comment box and buttons that post `decision` for request `id`. */
function decisionForm(request, options) {
  const comment = el("input", { type: "text", class: "comment", placeholder: options.placeholder, "aria-label": "Comment", maxlength: "4096" });
  const decide = (decision) => async (event) => {
    event.preventDefault();
    const text = comment.value.trim();
    if (options.commentRequired && !text) {
      banner("A comment is required for this review.");
      comment.focus();
      return;
    }
    await act(`${decision} request ${request.id}`, () =>
      api("POST", `/v1/access-requests/${encodeURIComponent(request.id)}/${decision}`, text ? { comment: text } : {}),
      `Request ${decision === "approve" ? "approved" : "rejected"}.`);
  };
  return el("form", { class: "decide", onsubmit: decide("approve") },
    comment,
    el("button", { type: "submit", class: "approve", "data-action": "approve" }, options.approveLabel || "Approve"),
    el("button", { type: "button", class: "reject", "data-action": "reject", onclick: decide("reject") }, "Reject"));
}

/** Runs `action`, showing `done` or its error, then refreshes. */
async function act(key, action, done) {
  if (state.busy.has(key)) return;
  state.busy.add(key);
  try {
    await action();
    banner(done, "ok");
  } catch (e) {
    banner(describeError(e));
  } finally {
    state.busy.delete(key);
    await refresh();
  }
}

function requestCard(request, options) {
  const mine = state.me && request.principal === state.me.id;
  const needed = request.min_approvals;
  const approvals = request.reviews.filter((r) => r.decision === "approve").length;
  const reviews = request.reviews.map((r) =>
    el("li", {}, `${r.decision === "approve" ? "✔" : "✘"} ${r.reviewer}`, r.comment ? ` — “${r.comment}”` : "", " · ", time(r.at_ms)));
  const card = el("article", { class: "card" + (mine ? " own" : "") + (request.break_glass ? " glass" : ""), "data-request-id": request.id },
    el("header", {},
      el("span", { class: "who-asked" }, request.principal),
      " on ",
      el("span", { class: "ds" }, request.datasource),
      statusBadge(request.status, request.break_glass ? "break-glass" : null),
      mine ? el("span", { class: "badge mine" }, "your request") : null),
    el("dl", {},
      what(request),
      request.reasons.length ? field("Why it is held", request.reasons.join(" · ")) : [],
      field("Justification", request.justification || "—"),
      field("Duration", duration(request.duration_seconds) + (request.uses === "window" ? " (window)" : " (once)")),
      request.break_glass
        ? field("Review", request.reviews.length ? "reviewed after the fact" : "taken at once by a break-glass role; awaits review by someone else")
        : field("Approvals", `${approvals} of ${needed}` + (request.per_group ? " (one per group)" : ""), el("span", { class: "groups" }, ` · approvers: ${request.approver_groups.join(", ") || "none"}`)),
      request.status === "pending" ? field("Expires", relative(request.expires_at_ms), " · ", time(request.expires_at_ms)) : [],
      field("Asked", time(request.created_at_ms))),
    reviews.length ? el("ul", { class: "reviews" }, reviews) : null);
  if (options.decide && !mine) card.append(decisionForm(request, options));
  if (options.decide && mine) card.append(el("p", { class: "note" }, "You cannot review your own request; another approver must."));
  return card;
}

function grantCard(grant) {
  const live = !grant.revoked && !grant.used_at_ms && grant.expires_at_ms > Date.now();
  const reason = el("input", { type: "text", class: "comment", placeholder: "Why revoke (optional)", "aria-label": "Reason", maxlength: "4096" });
  const revoke = async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    await act(`revoke ${grant.id}`, () => api("POST", `/v1/grants/${encodeURIComponent(grant.id)}/revoke`, text ? { comment: text } : {}), "Grant revoked.");
  };
  const uses = grant.uses === "window" ? "any number until it expires" : grant.used_at_ms ? "used" : "once";
  const card = el("article", { class: "card", "data-grant-id": grant.id },
    el("header", {},
      el("span", { class: "who-asked" }, grant.principal),
      " on ",
      el("span", { class: "ds" }, grant.datasource),
      statusBadge(grant.revoked ? "revoked" : live ? "live" : "ended")),
    el("dl", {},
      what(grant),
      field("Uses", uses),
      field("Ends", relative(grant.expires_at_ms), " · ", time(grant.expires_at_ms)),
      field("Approved by", grant.approved_by.join(", ") || "— (break-glass)"),
      grant.revoked ? field("Revoked", `by ${grant.revoked.by}`, grant.revoked.reason ? ` — “${grant.revoked.reason}”` : "") : []));
  if (live) card.append(el("form", { class: "decide", onsubmit: revoke }, reason, el("button", { type: "submit", class: "reject", "data-action": "revoke" }, "Revoke")));
  return card;
}

function fill(listId, cards, empty) {
  const list = $(listId);
  list.replaceChildren(...(cards.length ? cards : [el("p", { class: "empty" }, empty)]));
}

/** Keeps what the user is typing when a list re-renders. */
function typed() {
  const out = new Map();
  for (const input of document.querySelectorAll(".card input.comment")) {
    const card = input.closest(".card");
    if (input.value) out.set(card.dataset.requestId || card.dataset.grantId, { value: input.value, focused: document.activeElement === input });
  }
  return out;
}

function restore(saved) {
  for (const input of document.querySelectorAll(".card input.comment")) {
    const card = input.closest(".card");
    const kept = saved.get(card.dataset.requestId || card.dataset.grantId);
    if (kept) {
      input.value = kept.value;
      if (kept.focused) input.focus();
    }
  }
}

// ---------- Views ----------

async function loadReview() {
  const [review, mine] = await Promise.all([
    api("GET", "/v1/access-requests?scope=review&status=pending"),
    api("GET", "/v1/access-requests?scope=mine&status=pending"),
  ]);
  const requests = [...review.requests, ...mine.requests.filter((r) => !review.requests.some((o) => o.id === r.id))];
  requests.sort((a, b) => b.created_at_ms - a.created_at_ms);
  $("count-review").textContent = review.requests.length ? String(review.requests.length) : "";
  fill("review-list", requests.map((r) => requestCard(r, { decide: true, placeholder: "Comment (optional)" })), "Nothing to review. New requests appear here within seconds.");
}

async function loadMine() {
  const mine = await api("GET", "/v1/access-requests?scope=mine");
  fill("mine-list", mine.requests.map((r) => requestCard(r, {})), "You have asked for nothing yet.");
}

async function loadGrants() {
  const grants = await api("GET", "/v1/grants");
  fill("grants-list", grants.grants.map(grantCard), "No live grant that you hold or approve.");
}

async function loadBreakGlass() {
  const review = await api("GET", "/v1/access-requests?scope=review");
  const waiting = review.requests.filter((r) => r.break_glass && r.reviews.length === 0);
  $("count-breakglass").textContent = waiting.length ? String(waiting.length) : "";
  fill("breakglass-list", waiting.map((r) => requestCard(r, { decide: true, commentRequired: true, approveLabel: "Reviewed: fine", placeholder: "Comment (required)" })), "No break-glass use awaits review.");
}

const LOADERS = { review: loadReview, mine: loadMine, grants: loadGrants, breakglass: loadBreakGlass };

async function refresh() {
  if (!state.token) return;
  const saved = typed();
  try {
    await LOADERS[state.view]();
    if (state.view !== "breakglass") await loadBreakGlass().catch(() => {});
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
    restore(saved);
  } catch (e) {
    if (e.code === "unauthenticated") {
      signOut();
    }
    banner(describeError(e));
  }
}

function show(view) {
  state.view = view;
  // A confirmation belongs to the view it was given in; errors stay until the next action.
  if ($("banner").classList.contains("ok")) banner("");
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  for (const name of Object.keys(LOADERS)) $(`view-${name}`).hidden = name !== view;
  refresh();
}

// ---------- Sign-in ----------

async function signIn(token) {
  state.token = token;
  try {
    state.me = await api("GET", "/v1/me");
  } catch (e) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    banner(describeError(e));
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  banner("");
  $("who-name").textContent = state.me.id;
  $("who-roles").textContent = state.me.roles.length ? "roles: " + state.me.roles.join(", ") : "no roles";
  $("who").hidden = false;
  $("sign-in").hidden = true;
  $("app").hidden = false;
  show(state.view);
  clearInterval(state.timer);
  state.timer = setInterval(refresh, POLL_MS);
}

function signOut() {
  clearInterval(state.timer);
  state.token = null;
  state.me = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("who").hidden = true;
  $("app").hidden = true;
  $("sign-in").hidden = false;
  $("token").value = "";
}

function askWhat() {
  return document.querySelector('input[name="ask-what"]:checked').value;
}

function askChanged() {
  const what = askWhat();
  $("ask-target-label").textContent = { sql: "Statement", template: "Role template", relation: "Relation (name or schema.name)" }[what];
  $("ask-target").rows = what === "sql" ? 3 : 1;
  for (const node of document.querySelectorAll(".relation-only")) node.hidden = what !== "relation";
  for (const node of document.querySelectorAll(".sql-only")) node.hidden = what !== "sql";
}

async function ask(event) {
  event.preventDefault();
  const what = askWhat();
  const body = { datasource: $("ask-datasource").value.trim() };
  body[what] = $("ask-target").value.trim();
  if (what === "relation") body.statements = $("ask-statements").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (what === "sql" && $("ask-window").checked) body.uses = "window";
  const seconds = $("ask-duration").value.trim();
  if (seconds) body.duration_seconds = Number(seconds);
  const justification = $("ask-justification").value.trim();
  if (justification) body.justification = justification;
  await act("ask", async () => {
    const filed = await api("POST", "/v1/access-requests", body);
    $("ask-form").reset();
    askChanged();
    return filed;
  }, "Request filed; approvers see it now.");
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (token) signIn(token);
  });
  $("sign-out").addEventListener("click", () => {
    signOut();
    banner("Signed out.", "ok");
  });
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => show(tab.dataset.view));
    tab.addEventListener("keydown", (event) => {
      const tabs = [...document.querySelectorAll('[role="tab"]')];
      const i = tabs.indexOf(tab);
      const next = event.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : event.key === "ArrowLeft" ? tabs[(i + tabs.length - 1) % tabs.length] : null;
      if (next) {
        next.focus();
        show(next.dataset.view);
      }
    });
  }
  for (const radio of document.querySelectorAll('input[name="ask-what"]')) radio.addEventListener("change", askChanged);
  $("ask-form").addEventListener("submit", ask);
  askChanged();
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
});
