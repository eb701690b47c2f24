// The Apps panel: third-party applications that trust Columba's single sign-in. "Open" posts
// to SSI (/ssi/apps/<id>/open), which hands the app a credential encrypted under the app's own
// key; the app decrypts it and signs the user in. Needs the SSI session of the sign-in.
import { fetchJson, h } from "./dom.js";

export async function available(session) {
  if (!session.ssi) return false;
  try {
    const data = await fetchJson("/ssi/apps", { headers: { Authorization: `Bearer ${session.ssi.session}` } });
    session.apps = data.apps;
    return true;
  } catch {
    return false;
  }
}

export async function mount(session, panel) {
  const render = (apps) => {
    panel.replaceChildren(
      h("div", { class: "panel" },
        h("h2", {}, "Apps"),
        h("p", { class: "presence" }, "Applications that trust your Columba sign-in: open one and you are signed in there, without a password."),
        apps.length ? h("ul", { id: "app-list", class: "app-list", "aria-label": "Apps" },
          ...apps.map((app) =>
            h("li", { dataset: { app: app.id } },
              // A form POST, not a link: the credential travels in a request body, never a URL.
              h("form", { method: "post", action: `/ssi/apps/${encodeURIComponent(app.id)}/open`, target: "_blank", class: "row" },
                h("span", {}, app.name),
                h("button", { type: "submit", "aria-label": `Open ${app.name}` }, "Open"))),
          )) : h("p", {}, "No applications are registered on this server yet."),
      ),
    );
  };
  render(session.apps || []);
  return {
    refresh: async () => {
      const data = await fetchJson("/ssi/apps", { headers: { Authorization: `Bearer ${session.ssi.session}` } });
      render(data.apps);
    },
  };
}
