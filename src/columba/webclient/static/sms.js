// The SMS panel: the user's SMS preferences (Fetion's sms-online-status and Columba's quiet
// hours) and quotas, read and set over SIP-C (S GetSmsSettings / SetSmsSettings).
import { announce, h } from "./dom.js";
import { xmlEscape } from "./sipc.js";

export async function available(session) {
  const { status } = await session.client.service("GetSmsSettings", "<args/>");
  return status === 200;
}

function settingsOf(doc) {
  const node = doc && doc.querySelector("sms-settings");
  const get = (name) => (node ? node.getAttribute(name) || "" : "");
  return {
    number: get("number"),
    offline: get("offline-sms") === "1",
    refuseUntil: get("refuse-until"),
    quiet: get("quiet-hours"),
    stopped: get("stopped") === "1",
    day: `${get("day-count")} of ${get("day-limit")}`,
    month: `${get("month-count")} of ${get("month-limit")}`,
  };
}

export async function mount(session, panel) {
  const client = session.client;
  const status = h("p", { class: "presence", id: "sms-summary" });
  const offline = h("input", { type: "checkbox", id: "sms-offline" });
  const refuse = h("input", { type: "number", id: "sms-refuse", min: "0", max: "3650", value: "0" });
  const quietFrom = h("input", { type: "time", id: "sms-quiet-from" });
  const quietTo = h("input", { type: "time", id: "sms-quiet-to" });

  const show = (s) => {
    offline.checked = s.offline;
    const [from, to] = s.quiet ? s.quiet.split("-") : ["", ""];
    quietFrom.value = from || "";
    quietTo.value = to || "";
    status.replaceChildren(
      `Your number: ${s.number || "none (no SMS possible)"}. `,
      `SMS sent today: ${s.day}; this month: ${s.month}. `,
      s.refuseUntil ? `Refusing SMS until ${new Date(s.refuseUntil).toLocaleString()}. ` : "",
      s.stopped ? "Your phone texted STOP: text START to receive SMS again." : "",
    );
  };

  const form = h(
    "form",
    {
      class: "panel",
      onsubmit: async (event) => {
        event.preventDefault();
        const quiet = quietFrom.value && quietTo.value ? `${quietFrom.value}-${quietTo.value}` : "";
        const body =
          `<args><sms-settings offline-sms="${offline.checked ? 1 : 0}" refuse-days="${xmlEscape(refuse.value || 0)}"` +
          ` quiet-hours="${xmlEscape(quiet)}"/></args>`;
        const result = await client.service("SetSmsSettings", body);
        if (result.status === 200) {
          show(settingsOf(result.doc));
          announce("SMS settings saved");
        } else {
          announce(`Not saved: ${result.reason}`);
        }
      },
    },
    h("h2", {}, "SMS"),
    status,
    h("div", { class: "row check" }, offline, h("label", { for: "sms-offline" }, "Send messages I miss while offline to my phone as SMS")),
    h("label", { for: "sms-refuse" }, "Refuse all SMS for this many days (0: do not refuse)"),
    refuse,
    h("fieldset", {},
      h("legend", {}, "Quiet hours: SMS wait until they end (leave empty for none)"),
      h("div", { class: "grid-form" },
        h("div", {}, h("label", { for: "sms-quiet-from" }, "From"), quietFrom),
        h("div", {}, h("label", { for: "sms-quiet-to" }, "To"), quietTo),
      ),
    ),
    h("p", {}, h("button", { type: "submit" }, "Save SMS settings")),
  );
  panel.replaceChildren(form);
  const refresh = async () => {
    const result = await client.service("GetSmsSettings", "<args/>");
    if (result.status === 200) show(settingsOf(result.doc));
  };
  await refresh();
  return { refresh };
}
