// The Columba admin console: users, sessions and live metrics over the admin HTTP API
// (Authorization: Bearer <[admin] token>); more panels when the server offers them.
import { $, announce, fetchJson, h, tabs } from "./dom.js";

const KEY = "columba-admin-token";
const state = { token: sessionStorage.getItem(KEY) || "", timer: null, last: null, panels: [] };

/** Optional panels: modules that export `available(api)` and `mount(api, panel)`. */
const PANELS = [
  ["Groups & robots", "./admin-groups.js"],
  ["Apps", "./admin-apps.js"],
  ["SMS", "./admin-sms.js"],
];

export function api(url, options = {}) {
  return fetchJson(url, {
    ...options,
    headers: { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) },
  });
}

// -- metrics -------------------------------------------------------------------------------------

/** Prometheus text format -> Map(name -> [{labels, value}]). */
function parseMetrics(text) {
  const series = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, k, v] of (match[2] || "").matchAll(/(\w+)="([^"]*)"/g)) labels[k] = v;
    if (!series.has(match[1])) series.set(match[1], []);
    series.get(match[1]).push({ labels, value: Number(match[3]) });
  }
  return series;
}

const sum = (series, name, filter = () => true) =>
  (series.get(name) || []).filter((s) => filter(s.labels)).reduce((total, s) => total + s.value, 0);

const KEY_METRICS = [
  ["Connections open", "columba_connections"],
  ["Devices registered", "columba_registrations"],
  ["Messages received", "columba_messages_received_total", true],
  ["Messages delivered", "columba_messages_delivered_total", true],
  ["SMS sent", "columba_sms_sent_total", true],
  ["Failed logins", "columba_login_failures_total", true],
  ["Malformed messages", "columba_parse_errors_total", true],
];

async function refreshMetrics() {
  let text;
  try {
    const response = await fetch("/metrics");
    text = await response.text();
  } catch {
    return;
  }
  const series = parseMetrics(text);
  const now = performance.now();
  const cards = [];
  const shown = new Set();
  for (const [label, name, isCounter] of KEY_METRICS) {
    shown.add(name);
    const value = sum(series, name);
    let rate = "";
    if (isCounter && state.last) {
      const seconds = (now - state.last.time) / 1000;
      const before = sum(state.last.series, name);
      rate = `${((value - before) / seconds).toFixed(1)}/s`;
    }
    cards.push(card(label, value, rate, name));
  }
  // Counters other roles add (groups, robots, SMS, SSI …) appear without a code change here.
  for (const name of [...series.keys()].sort()) {
    if (shown.has(name) || !name.startsWith("columba_") || name.endsWith("_created")) continue;
    if (/_bucket$|_sum$|_count$|build_info/.test(name)) continue;
    cards.push(card(name.replace(/^columba_/, "").replace(/_total$/, "").replaceAll("_", " "), sum(series, name), "", name));
  }
  const pending = (series.get("columba_message_delivery_seconds_count") || [])[0];
  const total = (series.get("columba_message_delivery_seconds_sum") || [])[0];
  if (pending && total && pending.value > 0) {
    cards.push(card("Mean delivery time", `${((total.value / pending.value) * 1000).toFixed(1)} ms`, "", "delivery"));
  }
  $("#metrics").replaceChildren(...cards);
  state.last = { time: now, series };
}

function card(label, value, rate, name) {
  const shown = typeof value === "number" ? Number(value.toFixed(2)).toLocaleString() : value;
  return h(
    "div",
    { class: "metric", dataset: { metric: name } },
    h("div", { class: "value" }, shown),
    h("div", { class: "label" }, label, rate ? ` · ${rate}` : ""),
  );
}

// -- users ---------------------------------------------------------------------------------------

async function refreshUsers() {
  const { users } = await api("/api/admin/users?limit=1000");
  $("#users").replaceChildren(
    ...users.map((u) =>
      h(
        "tr",
        { dataset: { sid: u.sid } },
        h("td", {}, u.sid),
        h("td", {}, u.display_name),
        h("td", {}, u.number || ""),
        h("td", {}, u.disabled ? "disabled" : "active"),
        h("td", {}, new Date(u.created_at).toLocaleString()),
        h(
          "td",
          {},
          u.disabled
            ? ""
            : h(
                "button",
                {
                  type: "button",
                  class: "danger",
                  "aria-label": `Disable ${u.display_name} (${u.sid})`,
                  onclick: async () => {
                    if (!confirm(`Disable ${u.display_name}? Their logins end now.`)) return;
                    await api(`/api/admin/users/${encodeURIComponent(u.sid)}`, { method: "DELETE" });
                    announce(`${u.display_name} disabled`);
                    await refreshUsers();
                  },
                },
                "Disable",
              ),
        ),
      ),
    ),
  );
}

$("#new-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const user = await api("/api/admin/users", {
      method: "POST",
      body: JSON.stringify({
        display_name: $("#new-name").value,
        number: $("#new-number").value.trim() || null,
        password: $("#new-password").value,
      }),
    });
    event.target.reset();
    announce(`Created ${user.display_name}: Columba id ${user.sid}`);
    await refreshUsers();
  } catch (error) {
    announce(`Not created: ${error.message}`);
  }
});

$("#new-invite").addEventListener("click", async () => {
  const invite = await api("/api/admin/invites", { method: "POST", body: JSON.stringify({ uses: 1 }) });
  $("#invite").textContent = `Invite code: ${invite.code}`;
});

// -- sessions ------------------------------------------------------------------------------------

function duration(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

async function refreshSessions() {
  const { sessions } = await api("/api/admin/sessions");
  $("#sessions").replaceChildren(
    ...sessions.map((s) =>
      h(
        "tr",
        { dataset: { sid: s.sid } },
        h("td", {}, s.sid),
        h("td", {}, s.device_id.slice(0, 12)),
        h("td", {}, `${s.dialect.toUpperCase()} over ${s.transport}`),
        h("td", {}, s.peer),
        h("td", {}, String(s.presence)),
        h("td", {}, duration(s.online_seconds)),
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              class: "danger",
              "aria-label": `End the sessions of ${s.sid}`,
              onclick: async () => {
                await api(`/api/admin/sessions/${encodeURIComponent(s.sid)}`, { method: "DELETE" });
                announce(`Sessions of ${s.sid} ended`);
                await refreshSessions();
              },
            },
            "End",
          ),
        ),
      ),
    ),
  );
}

// -- the console ---------------------------------------------------------------------------------

const REFRESH = {
  "tab-metrics": refreshMetrics,
  "tab-users": refreshUsers,
  "tab-sessions": refreshSessions,
};
let current = "tab-metrics";

async function refresh() {
  const action = REFRESH[current];
  if (!action) return;
  try {
    await action();
  } catch (error) {
    if (error.status === 403) {
      stop("The token was refused.");
      return;
    }
    announce(error.message);
  }
}

async function open() {
  try {
    await api("/api/admin/users?limit=1");
  } catch (error) {
    stop(error.status === 403 ? "The token was refused (or the admin API is off)." : error.message);
    return;
  }
  sessionStorage.setItem(KEY, state.token);
  $("#token-card").hidden = true;
  $("#console").hidden = false;
  $("#forget-token").hidden = false;
  for (const [label, path] of PANELS) {
    try {
      const module = await import(path);
      if (await module.available(api)) {
        const id = `tab-extra-${state.panels.length}`;
        const panel = h("section", { id: `${id}-panel`, role: "tabpanel", "aria-labelledby": id, hidden: true });
        $("#admin-tabs").append(
          h("button", { role: "tab", id, "aria-controls": `${id}-panel`, "aria-selected": "false", tabindex: "-1" }, label),
        );
        $("#console").append(panel);
        const mounted = await module.mount(api, panel);
        REFRESH[id] = () => mounted.refresh();
        state.panels.push(mounted);
      }
    } catch {
      // not on this server
    }
  }
  await refresh();
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    if (current === "tab-metrics" || current === "tab-sessions") refresh();
  }, 2000);
}

function stop(message) {
  clearInterval(state.timer);
  sessionStorage.removeItem(KEY);
  state.token = "";
  $("#console").hidden = true;
  $("#forget-token").hidden = true;
  $("#token-card").hidden = false;
  $("#token-error").textContent = message;
}

tabs($("#admin-tabs"), (id) => {
  current = id;
  refresh();
});

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("#token-error").textContent = "";
  state.token = $("#token").value;
  $("#token").value = "";
  open();
});

$("#forget-token").addEventListener("click", () => stop("Token forgotten."));

if (state.token) open();
