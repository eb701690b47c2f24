// The Virtual phones panel: handsets of the built-in SMSC simulator (HTTP /api/phones). Pick
// a handset, see the SMS it received, text an IM user from it (MO through the access code).
import { announce, fetchJson, formatTime, h } from "./dom.js";

export async function available() {
  try {
    await fetchJson("/api/phones");
    return true;
  } catch {
    return false;
  }
}

export async function mount(session, panel) {
  const state = { number: "", messages: [], sent: [], timer: null, accessCode: "" };
  const picker = h("select", { id: "phone-pick" });
  const newNumber = h("input", { id: "phone-number", placeholder: "+8613900000000", inputmode: "tel" });
  const inbox = h("ol", { id: "phone-messages", class: "messages", "aria-label": "SMS on this phone" });
  const to = h("input", { id: "phone-to", required: true, value: session.me.sid });
  const text = h("textarea", { id: "phone-text", rows: "2", required: true });
  const title = h("h3", { id: "phone-title" }, "No handset picked");

  const path = (n) => `/api/phones/${encodeURIComponent(n)}/messages`;

  async function listPhones() {
    const data = await fetchJson("/api/phones");
    state.accessCode = data.access_code;
    const numbers = data.phones.map((p) => p.number);
    if (state.number && !numbers.includes(state.number)) numbers.unshift(state.number);
    picker.replaceChildren(
      h("option", { value: "" }, "Pick a handset"),
      ...numbers.map((n) => h("option", { value: n, selected: n === state.number }, n)),
    );
  }

  async function loadMessages() {
    if (!state.number) return;
    const data = await fetchJson(`${path(state.number)}?after=${state.messages.length}`);
    if (!data.messages.length) return;
    state.messages.push(...data.messages);
    render();
    announce(`Handset ${state.number} has ${state.messages.length} SMS`);
  }

  /** What the handset received (from the simulator) and what it sent from this page. */
  function render() {
    const all = [...state.messages, ...state.sent].sort((x, y) => x.at - y.at);
    inbox.replaceChildren(
      ...all.map((m) =>
        h(
          "li",
          { class: m.from === state.number ? "mine" : "", dataset: { from: m.from } },
          h("span", { class: "text" }, m.text),
          h("span", { class: "meta" }, `${m.from === state.number ? "to " + m.to : "from " + m.from} · ${formatTime(m.at * 1000)}`),
        ),
      ),
    );
    inbox.scrollTop = inbox.scrollHeight;
  }

  async function pick(number) {
    state.number = number.trim();
    state.messages = [];
    state.sent = [];
    inbox.replaceChildren();
    title.textContent = state.number ? `Handset ${state.number}` : "No handset picked";
    await loadMessages().catch(() => {});
  }

  picker.addEventListener("change", () => pick(picker.value));

  panel.replaceChildren(
    h(
      "div",
      { class: "panel" },
      h("h2", {}, "Virtual phones"),
      h("p", { class: "presence" }, "Handsets of the SMSC simulator built into this server. A phone texts an IM user through the access code and the user's number."),
      h("div", { class: "grid-form" },
        h("div", {}, h("label", { for: "phone-pick" }, "Handset"), picker),
        h("form", {
          onsubmit: async (event) => {
            event.preventDefault();
            await pick(newNumber.value);
            await listPhones();
          },
        }, h("label", { for: "phone-number" }, "Or another number"), h("div", { class: "row" }, newNumber, h("button", { type: "submit" }, "Use"))),
      ),
      title,
      inbox,
      h(
        "form",
        {
          id: "phone-send",
          onsubmit: async (event) => {
            event.preventDefault();
            if (!state.number) {
              announce("Pick a handset first");
              return;
            }
            try {
              const sent = await fetchJson(path(state.number), {
                method: "POST",
                body: JSON.stringify({ to_user: to.value.trim(), text: text.value }),
              });
              state.sent.push({ from: state.number, to: sent.to, text: text.value, at: Date.now() / 1000 });
              text.value = "";
              render();
              announce(`Texted ${sent.to}`);
            } catch (error) {
              announce(`Not sent: ${error.message}`);
            }
          },
        },
        h("label", { for: "phone-to" }, "Text an IM user (Columba id or number)"),
        to,
        h("label", { for: "phone-text" }, "SMS text"),
        text,
        h("p", {}, h("button", { type: "submit" }, "Send SMS")),
      ),
    ),
  );
  await listPhones();
  state.timer = setInterval(() => {
    loadMessages().catch(() => {});
  }, 1000);
  return {
    refresh: listPhones,
    stop: () => clearInterval(state.timer),
    pick,
  };
}
