// Admin console: robots (register, with their token and signing secret shown once) and groups
// with the robots in them and what each may read (/api/robots, /api/groups).
import { announce, h } from "./dom.js";

const SCOPES = { mentions: "mentions and commands", all: "every message" };

export async function available(api) {
  await api("/api/robots");
  return true;
}

export async function mount(api, panel) {
  const robots = h("tbody", { id: "robots" });
  const groups = h("tbody", { id: "groups" });
  const secret = h("output", { id: "robot-secret", "aria-live": "polite" });
  const field = (id, label, control) => h("div", {}, h("label", { for: id }, label), control);

  async function refresh() {
    const [{ robots: robotList }, { groups: groupList }] = await Promise.all([api("/api/robots"), api("/api/groups")]);
    robots.replaceChildren(
      ...robotList.map((r) =>
        h("tr", { dataset: { robot: r.name } },
          h("td", {}, r.name), h("td", {}, r.sid || ""), h("td", {}, r.owner || ""),
          h("td", {}, r.transport), h("td", {}, r.webhook_url || ""), h("td", {}, r.description || "")),
      ),
    );
    const rows = [];
    for (const g of groupList) {
      let inGroup = [];
      try {
        inGroup = (await api(`/api/groups/${encodeURIComponent(g.group_id)}/robots`)).robots;
      } catch {
        // listed without robots
      }
      rows.push(
        h("tr", { dataset: { group: String(g.group_id) } },
          h("td", {}, g.name), h("td", {}, g.uri), h("td", {}, String(g.members)),
          h("td", {}, inGroup.length ? inGroup.map((r) => `${r.name} (reads ${SCOPES[r.read_scope] || r.read_scope})`).join(", ") : "none")),
      );
    }
    groups.replaceChildren(...rows);
  }

  const transport = h("select", { id: "robot-transport" },
    h("option", { value: "webhook" }, "webhook"), h("option", { value: "poll" }, "long poll"), h("option", { value: "websocket" }, "WebSocket"));
  panel.replaceChildren(
    h("div", { class: "panel" },
      h("h2", {}, "Register a robot"),
      h("form", {
        class: "grid-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const form = event.target;
          try {
            const robot = await api("/api/robots", {
              method: "POST",
              body: JSON.stringify({
                name: form.querySelector("#robot-name").value.trim(),
                owner: form.querySelector("#robot-owner").value.trim(),
                transport: transport.value,
                webhook_url: form.querySelector("#robot-url").value.trim() || undefined,
                description: form.querySelector("#robot-description").value,
              }),
            });
            secret.replaceChildren(h("strong", {}, `${robot.name}: `), h("code", {}, `token ${robot.token}, signing secret ${robot.signing_secret}`), " (shown once)");
            form.reset();
            await refresh();
          } catch (error) {
            announce(`Not registered: ${error.message}`);
          }
        },
      },
      field("robot-name", "Name", h("input", { id: "robot-name", required: true })),
      field("robot-owner", "Owner (Columba id)", h("input", { id: "robot-owner", required: true })),
      field("robot-transport", "Receives events by", transport),
      field("robot-url", "Webhook URL", h("input", { id: "robot-url", type: "url" })),
      field("robot-description", "Description", h("input", { id: "robot-description" })),
      h("div", {}, h("button", { type: "submit" }, "Register"))),
      h("p", {}, secret)),
    h("h2", {}, "Robots"),
    h("div", { class: "table-wrap" }, h("table", {}, h("caption", { class: "visually-hidden" }, "Robots"),
      h("thead", {}, h("tr", {}, ...["Name", "Columba id", "Owner", "Transport", "Webhook", "Description"].map((t) => h("th", { scope: "col" }, t)))), robots)),
    h("h2", {}, "Groups"),
    h("div", { class: "table-wrap" }, h("table", {}, h("caption", { class: "visually-hidden" }, "Groups"),
      h("thead", {}, h("tr", {}, ...["Name", "URI", "Members", "Robots (what they read)"].map((t) => h("th", { scope: "col" }, t)))), groups)),
  );
  await refresh();
  return { refresh };
}
