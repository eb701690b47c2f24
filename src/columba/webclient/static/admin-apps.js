// Admin console: third-party applications of single sign-in and their keys
// (/api/admin/ssi/apps). A new key is shown once, when it is made; copy it to the app.
import { announce, h } from "./dom.js";

export async function available(api) {
  await api("/api/admin/ssi/apps");
  return true;
}

export async function mount(api, panel) {
  const secret = h("output", { id: "app-secret", "aria-live": "polite" });
  const tbody = h("tbody", { id: "apps" });
  const field = (id, label, attrs = {}) => h("div", {}, h("label", { for: id }, label), h("input", { id, ...attrs }));

  const showKey = (appId, key) => {
    secret.replaceChildren(
      h("strong", {}, `New key for ${appId}: `),
      h("code", {}, `kid ${key.kid}, key ${key.key}`),
      " (shown once: give it to the app now)",
    );
  };

  async function refresh() {
    const { apps } = await api("/api/admin/ssi/apps");
    tbody.replaceChildren(
      ...apps.map((app) =>
        h("tr", { dataset: { app: app.id } },
          h("td", {}, app.id),
          h("td", {}, app.name),
          h("td", {}, app.login_urls.join(" ")),
          h("td", {}, app.alg),
          h("td", {},
            h("ul", { class: "keys" },
              ...app.keys.map((k) =>
                h("li", {}, `${k.kid} · ${new Date(k.created_at * 1000).toLocaleDateString()}`, k.retired ? " · retired" : " ",
                  k.retired ? "" : h("button", {
                    type: "button", class: "secondary", "aria-label": `Retire key ${k.kid} of ${app.name}`,
                    onclick: async () => {
                      await api(`/api/admin/ssi/apps/${encodeURIComponent(app.id)}/keys/${encodeURIComponent(k.kid)}`, { method: "DELETE" });
                      announce(`Key ${k.kid} retired`);
                      await refresh();
                    },
                  }, "Retire"))))),
          h("td", {},
            h("button", {
              type: "button", "aria-label": `New key for ${app.name}`,
              onclick: async () => {
                const key = await api(`/api/admin/ssi/apps/${encodeURIComponent(app.id)}/keys`, { method: "POST", body: "{}" });
                showKey(app.id, key);
                await refresh();
              },
            }, "New key"),
            " ",
            h("button", {
              type: "button", class: "danger", "aria-label": `Remove ${app.name}`,
              onclick: async () => {
                if (!confirm(`Remove ${app.name}? Its users can no longer sign in there.`)) return;
                await api(`/api/admin/ssi/apps/${encodeURIComponent(app.id)}`, { method: "DELETE" });
                await refresh();
              },
            }, "Remove"))),
      ),
    );
  }

  panel.replaceChildren(
    h("div", { class: "panel" },
      h("h2", {}, "Register a third-party app"),
      h("form", {
        class: "grid-form",
        onsubmit: async (event) => {
          event.preventDefault();
          const form = event.target;
          try {
            const app = await api("/api/admin/ssi/apps", {
              method: "POST",
              body: JSON.stringify({
                id: form.querySelector("#app-id").value.trim(),
                name: form.querySelector("#app-name").value.trim(),
                login_urls: [form.querySelector("#app-login").value.trim()],
                logout_url: form.querySelector("#app-logout").value.trim() || undefined,
              }),
            });
            showKey(app.id, app.keys[0]);
            form.reset();
            await refresh();
          } catch (error) {
            announce(`Not registered: ${error.message}`);
          }
        },
      },
      field("app-id", "App id", { required: true, pattern: "[a-z0-9][a-z0-9._-]{0,63}" }),
      field("app-name", "Name", { required: true }),
      field("app-login", "Login URL", { required: true, type: "url" }),
      field("app-logout", "Back-channel logout URL (optional)", { type: "url" }),
      h("div", {}, h("button", { type: "submit" }, "Register"))),
      h("p", {}, secret)),
    h("div", { class: "table-wrap" },
      h("table", {},
        h("caption", { class: "visually-hidden" }, "Third-party apps"),
        h("thead", {}, h("tr", {}, ...["Id", "Name", "Login URLs", "Algorithm", "Keys", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        tbody)),
  );
  await refresh();
  return { refresh };
}
