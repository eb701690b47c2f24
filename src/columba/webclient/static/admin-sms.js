// Admin console: the SMS outbox by state, the quotas and each user's SMS sent
// (/api/admin/sms), and the virtual phones of the built-in SMSC simulator (/api/phones).
import { fetchJson, h } from "./dom.js";

export async function available(api) {
  await api("/api/admin/sms");
  return true;
}

export async function mount(api, panel) {
  const queue = h("div", { id: "sms-queue", class: "metrics" });
  const quota = h("p", { id: "sms-quota" });
  const users = h("tbody", { id: "sms-users" });
  const phones = h("tbody", { id: "sms-phones" });

  async function refresh() {
    const data = await api("/api/admin/sms");
    const states = Object.entries(data.queue);
    queue.replaceChildren(
      ...(states.length ? states : [["queued", 0]]).map(([state, count]) =>
        h("div", { class: "metric", dataset: { state } }, h("div", { class: "value" }, String(count)), h("div", { class: "label" }, `SMS ${state}`)),
      ),
    );
    quota.textContent = `SMS leg ${data.enabled ? "on" : "off"}. Quotas per user: ${data.day_limit || "no limit"} a day, ${data.month_limit || "no limit"} a month (segments).`;
    users.replaceChildren(
      ...data.users.map((u) =>
        h("tr", { dataset: { sid: u.sid } }, h("td", {}, u.sid), h("td", {}, u.number), h("td", {}, String(u.day)), h("td", {}, String(u.month)))),
    );
    try {
      const list = await fetchJson("/api/phones");
      phones.replaceChildren(
        ...list.phones.map((p) => h("tr", {}, h("td", {}, p.number), h("td", {}, String(p.messages)), h("td", {}, p.reachable ? "yes" : "no"))),
      );
    } catch {
      phones.replaceChildren(h("tr", {}, h("td", { colspan: "3" }, "No SMSC simulator on this node")));
    }
  }

  const table = (caption, headings, body) =>
    h("div", { class: "table-wrap" }, h("table", {}, h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", { scope: "col" }, t)))), body));
  panel.replaceChildren(
    h("h2", {}, "SMS outbox"), queue, quota,
    h("h2", {}, "SMS sent per user"), table("SMS per user", ["Columba id", "Number", "Today", "This month"], users),
    h("h2", {}, "Virtual phones (SMSC simulator)"), table("Virtual phones", ["Number", "SMS", "Reachable"], phones),
  );
  await refresh();
  return { refresh };
}
