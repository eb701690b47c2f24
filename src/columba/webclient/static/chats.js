// The Chats panel: contacts with live presence, contact requests, 1:1 chat with history and
// each message's fate. Everything goes over the SIP-C connection (sipc.js).
import { $, announce, formatTime, h } from "./dom.js";
import { uriIdentity } from "./sipc.js";

const PRESENCE = {
  0: "Offline",
  100: "Away",
  150: "Out to lunch",
  300: "Be right back",
  400: "Online",
  499: "Online (robot)",
  500: "On the phone",
  600: "Busy",
  800: "In a meeting",
};

/** What the sender is shown for each delivery state (GetHistoryV4 "state"). */
const FATES = {
  pending: "sent",
  delivered: "delivered",
  sent_as_sms: "sent as SMS",
  sms_delivered: "SMS delivered",
  failed: "not delivered",
};
const FINAL = new Set(["delivered", "sms_delivered", "failed"]);
/** States only move forward (a stale history answer never undoes a receipt). */
const RANK = { pending: 0, sent_as_sms: 1, failed: 2, sms_delivered: 3, delivered: 4 };

export class Chats {
  constructor(client, me) {
    this.client = client;
    this.me = me;
    this.contacts = new Map(); // sid -> {userId, sid, uri, name, relation, presence}
    this.requests = new Map(); // userId -> {userId, sid, uri, name}
    this.conversations = new Map(); // peer id (sid or number) -> Map(message id -> message)
    this.unread = new Map();
    this.open = null;
    this.refreshTimer = null;
    this.peerNames = new Map();
  }

  start(loginDoc) {
    for (const b of loginDoc ? loginDoc.querySelectorAll("contact-list > buddies > b") : []) {
      const uri = b.getAttribute("u");
      const relation = Number(b.getAttribute("r"));
      const entry = { userId: Number(b.getAttribute("i")), sid: uriIdentity(uri), uri, name: b.getAttribute("n"), presence: 0, relation };
      if (relation === 3) this.requests.set(entry.userId, entry);
      else this.contacts.set(entry.sid, entry);
    }
    this.client.addEventListener("presence", (e) => this.onPresence(e.detail));
    this.client.addEventListener("contact", (e) => this.onContact(e.detail));
    this.client.addEventListener("message", (e) => this.onMessage(e.detail));
    this.client.addEventListener("reconnected", () => {
      if (this.open) this.loadHistory(this.open);
    });
    this.client.addEventListener("notification", (e) => {
      if (e.detail.event === "MessageStatus") this.onMessageStatus(e.detail);
      else if (e.detail.event !== "PresenceV4" && e.detail.event !== "contact") this.refreshFates();
    });
    $("#add-contact-form").addEventListener("submit", (e) => this.addContact(e));
    $("#compose").addEventListener("submit", (e) => this.send(e));
    $("#compose-text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        $("#compose").requestSubmit();
      }
    });
    this.refreshTimer = setInterval(() => this.refreshFates(), 2000);
    this.render();
  }

  stop() {
    clearInterval(this.refreshTimer);
  }

  uriFor(sid) {
    if (/^\+?\d{10,}$/.test(sid) && !this.contacts.has(sid)) return `tel:${sid}`;
    return `sip:${sid}@${this.me.domain}`;
  }

  // -- events from the server ------------------------------------------------------------------

  onPresence({ sid, userId, name, uri, value }) {
    let contact = this.contacts.get(sid);
    if (!contact) {
      contact = [...this.contacts.values()].find((c) => c.userId === userId);
    }
    if (!contact) return;
    const was = contact.presence;
    contact.presence = value;
    if (name) contact.name = name;
    if (uri) contact.uri = uri;
    this.render();
    if ((was > 0) !== (value > 0)) announce(`${contact.name || contact.sid} is ${value > 0 ? "online" : "offline"}`);
  }

  onContact({ type, element }) {
    if (!element) return;
    const app = element.querySelector("application");
    if (type === "AddBuddyApplication" && app) {
      const uri = app.getAttribute("uri");
      const userId = Number(app.getAttribute("user-id"));
      this.requests.set(userId, { userId, uri, sid: uriIdentity(uri), name: app.getAttribute("desc") });
      announce(`${app.getAttribute("desc") || uriIdentity(uri)} wants to be your contact`);
    }
    for (const buddy of element.querySelectorAll("buddy")) {
      const uri = buddy.getAttribute("uri");
      const userId = Number(buddy.getAttribute("user-id"));
      const relation = Number(buddy.getAttribute("relation-status"));
      const sid = uri ? uriIdentity(uri) : [...this.contacts.values()].find((c) => c.userId === userId)?.sid;
      if (!sid) continue;
      const contact = this.contacts.get(sid) || { userId, sid, uri, name: this.peerNames.get(sid) || sid, presence: 0 };
      contact.relation = relation;
      this.contacts.set(sid, contact);
      this.requests.delete(userId);
    }
    this.render();
  }

  /** An SMS receipt for one of our messages (BN MessageStatus, SmsDelivered / SmsFailed). */
  onMessageStatus({ type, doc }) {
    const node = doc && doc.querySelector("message");
    if (!node) return;
    const state = type === "SmsDelivered" ? "sms_delivered" : type === "SmsFailed" ? "failed" : null;
    if (!state) return;
    for (const [peer, messages] of this.conversations) {
      if (messages.has(node.getAttribute("id"))) {
        this.store(peer, { id: node.getAttribute("id"), state });
        announce(state === "sms_delivered" ? "Your SMS was delivered" : "Your SMS could not be delivered");
      }
    }
  }

  onMessage(message) {
    const sender = uriIdentity(message.from);
    if (message.source) return; // group messages belong to the Groups panel
    const peer = sender;
    this.store(peer, {
      id: message.id,
      from: sender,
      text: message.text,
      date: message.date,
      mine: false,
    });
    if (this.open !== peer) {
      this.unread.set(peer, (this.unread.get(peer) || 0) + 1);
      if (!this.contacts.has(peer)) {
        this.contacts.set(peer, { userId: 0, sid: peer, uri: message.from, name: peer, presence: 0, relation: -1 });
      }
    }
    const contact = this.contacts.get(peer);
    announce(`New message from ${contact ? contact.name : peer}`);
    this.render();
  }

  // -- user actions ------------------------------------------------------------------------------

  async addContact(event) {
    event.preventDefault();
    const input = $("#add-contact");
    const who = input.value.trim();
    if (!who) return;
    const uri = who.startsWith("sip:") || who.startsWith("tel:") ? who : `sip:${who}@${this.me.domain}`;
    const { status, doc } = await this.client.addContact(uri);
    if (status !== 200) {
      announce(status === 404 ? `No user ${who}` : `Could not add ${who} (${status})`);
      return;
    }
    const buddy = doc && doc.querySelector("buddy");
    const sid = uriIdentity(buddy ? buddy.getAttribute("uri") : uri);
    const relation = buddy ? Number(buddy.getAttribute("relation-status")) : 0;
    if (!this.contacts.has(sid)) {
      this.contacts.set(sid, { userId: Number(buddy?.getAttribute("user-id") || 0), sid, uri: buddy?.getAttribute("uri") || uri, name: who, presence: 0, relation });
    }
    this.contacts.get(sid).relation = relation;
    input.value = "";
    announce(relation === 1 ? `${who} is now a contact` : `Asked ${who} to be a contact`);
    this.render();
  }

  async answer(request, accept) {
    const { status } = await this.client.answerContact(request.userId, accept);
    if (status !== 200) {
      announce(`Could not answer (${status})`);
      return;
    }
    this.requests.delete(request.userId);
    if (accept) {
      this.peerNames.set(request.sid, request.name);
      const contact = this.contacts.get(request.sid) || { ...request, presence: 0 };
      contact.relation = 1;
      contact.name = contact.name || request.name;
      this.contacts.set(request.sid, contact);
    }
    announce(accept ? `${request.name || request.sid} is now a contact` : "Request declined");
    this.render();
  }

  async openChat(sid) {
    this.open = sid;
    this.unread.delete(sid);
    const contact = this.contacts.get(sid);
    $("#chat-title").textContent = `Chat with ${contact ? contact.name || sid : sid}`;
    $("#compose").hidden = false;
    this.render();
    $("#compose-text").focus();
    await this.loadHistory(sid);
  }

  async loadHistory(sid) {
    const contact = this.contacts.get(sid);
    const uri = contact && contact.uri ? contact.uri : this.uriFor(sid);
    try {
      const items = await this.client.history(uri);
      for (const item of items) {
        this.store(sid, { id: item.id, from: item.from, text: item.text, date: item.date, mine: item.from === this.me.sid, state: item.state, seq: item.seq });
      }
    } catch (error) {
      // A phone number that is no user's has no stored conversation (404): nothing to show.
      if (error.status !== 404) announce(`Could not load history: ${error.message}`);
    }
    this.renderMessages();
  }

  async refreshFates() {
    const sid = this.open;
    if (!sid || !this.client.isOpen) return;
    const messages = this.conversations.get(sid);
    if (!messages) return;
    if (![...messages.values()].some((m) => m.mine && !FINAL.has(m.state))) return;
    await this.loadHistory(sid);
  }

  async send(event) {
    event.preventDefault();
    const textarea = $("#compose-text");
    const text = textarea.value;
    const sid = this.open;
    if (!text.trim() || !sid) return;
    const contact = this.contacts.get(sid);
    const uri = contact && contact.uri ? contact.uri : this.uriFor(sid);
    textarea.value = "";
    try {
      const result = await this.client.sendMessage(uri, text);
      this.store(sid, {
        id: result.id,
        from: this.me.sid,
        text,
        date: result.date,
        mine: true,
        state: result.status === 280 ? "sent_as_sms" : "pending",
      });
      if (result.status === 280) announce("Sent as SMS");
    } catch (error) {
      textarea.value = text;
      announce(`Not sent: ${error.message}`);
    }
    this.renderMessages();
  }

  // -- rendering ---------------------------------------------------------------------------------

  store(peer, message) {
    if (!this.conversations.has(peer)) this.conversations.set(peer, new Map());
    const messages = this.conversations.get(peer);
    const key = message.id || `local-${messages.size}`;
    const old = messages.get(key);
    const update = Object.fromEntries(Object.entries(message).filter(([, v]) => v !== undefined && v !== null));
    if (old && old.state && update.state && (RANK[update.state] ?? 0) < (RANK[old.state] ?? 0)) {
      delete update.state;
    }
    messages.set(key, old ? { ...old, ...update } : message);
    if (peer === this.open) this.renderMessages();
  }

  render() {
    const list = $("#contact-list");
    list.replaceChildren(
      ...[...this.contacts.values()]
        .sort((a, b) => (b.presence > 0) - (a.presence > 0) || (a.name || a.sid).localeCompare(b.name || b.sid))
        .map((c) => {
          const online = c.presence > 0;
          const label = c.relation === 0 ? "waiting for an answer" : PRESENCE[c.presence] || `presence ${c.presence}`;
          const unread = this.unread.get(c.sid);
          return h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                "aria-current": this.open === c.sid ? "true" : null,
                dataset: { sid: c.sid, presence: String(c.presence) },
                onclick: () => this.openChat(c.sid),
              },
              h("span", { class: online ? "dot online" : "dot", "aria-hidden": "true" }),
              h("span", {}, c.name || c.sid, h("br"), h("span", { class: "presence" }, label)),
              unread ? h("span", { class: "unread", "aria-label": `${unread} unread` }, unread) : null,
            ),
          );
        }),
    );
    $("#requests").replaceChildren(
      ...[...this.requests.values()].map((r) =>
        h(
          "div",
          { class: "request", dataset: { sid: r.sid } },
          `${r.name || r.sid} (${r.sid}) wants to be your contact`,
          h(
            "div",
            { class: "row" },
            h("button", { type: "button", onclick: () => this.answer(r, true) }, "Accept"),
            h("button", { type: "button", class: "secondary", onclick: () => this.answer(r, false) }, "Decline"),
          ),
        ),
      ),
    );
  }

  renderMessages() {
    const list = $("#messages");
    const messages = this.conversations.get(this.open);
    if (!messages) {
      list.replaceChildren();
      return;
    }
    const sorted = [...messages.values()].sort((a, b) => (a.seq || 1e15) - (b.seq || 1e15));
    list.replaceChildren(
      ...sorted.map((m) =>
        h(
          "li",
          { class: m.mine ? "mine" : "", dataset: { id: m.id || "", state: m.state || "" } },
          h("span", { class: "visually-hidden" }, m.mine ? "You: " : `${this.nameOf(m.from)}: `),
          h("span", { class: "text" }, m.text),
          h(
            "span",
            { class: "meta" },
            formatTime(m.date),
            m.mine ? " · " : "",
            m.mine ? h("span", { class: "fate" }, FATES[m.state] || "sent") : null,
          ),
        ),
      ),
    );
    list.scrollTop = list.scrollHeight;
  }

  nameOf(sid) {
    const contact = this.contacts.get(sid);
    return contact ? contact.name || sid : sid;
  }
}
