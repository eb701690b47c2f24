// The Groups panel: the user's groups, their members and robots with what each robot may read,
// group chat (M to sip:PG…@domain, received with SO naming the sender), invitations, and for
// admins adding members and robots. All over SIP-C (PG… S requests, docs/groups-and-robots.md).
import { $, announce, formatTime, h } from "./dom.js";
import { uriIdentity, xmlEscape } from "./sipc.js";

const ROLES = { 1: "owner", 2: "admin", 3: "member", 4: "robot" };
const SCOPES = {
  mentions: "reads messages that mention it and commands (/…)",
  all: "reads every message",
};

export async function available(session) {
  const { status } = await session.client.service(
    "PGGetGroupList",
    '<args><group-list attributes="name;identity"/></args>',
  );
  return status === 200;
}

export async function mount(session, panel) {
  const client = session.client;
  const state = { groups: new Map(), open: null, members: [], messages: new Map(), invites: new Map() };
  const list = h("ul", { id: "group-list", class: "contact-list", "aria-label": "Groups" });
  const invites = h("div", { id: "group-invites", "aria-live": "polite" });
  const title = h("h2", { id: "group-title" }, "Pick a group");
  const members = h("ul", { id: "group-members", class: "contact-list", "aria-label": "Members and robots" });
  const messages = h("ol", { id: "group-messages", class: "messages", "aria-label": "Group messages" });
  const text = h("textarea", { id: "group-text", rows: "2", required: true, placeholder: "Write to the group" });
  const compose = h("form", { id: "group-compose", class: "compose", hidden: true, onsubmit: send },
    h("label", { for: "group-text", class: "visually-hidden" }, "Group message"), text, h("button", { type: "submit" }, "Send"));
  const admin = h("div", { id: "group-admin", hidden: true });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });

  const groupArgs = (uri) => `<args><groups attributes="all"><group uri="${xmlEscape(uri)}"/></groups></args>`;

  async function loadGroups() {
    const { status, doc } = await client.service("PGGetGroupList", '<args><group-list attributes="name;identity"/></args>');
    if (status !== 200 || !doc) return;
    state.groups.clear();
    for (const g of doc.querySelectorAll("group")) {
      state.groups.set(g.getAttribute("uri"), { uri: g.getAttribute("uri"), name: g.getAttribute("name"), identity: Number(g.getAttribute("identity")) });
    }
    renderGroups();
  }

  function renderGroups() {
    list.replaceChildren(
      ...[...state.groups.values()].map((g) =>
        h("li", {}, h("button", { type: "button", "aria-current": state.open === g.uri ? "true" : null, dataset: { uri: g.uri }, onclick: () => openGroup(g.uri) },
          h("span", {}, g.name, h("br"), h("span", { class: "presence" }, ROLES[g.identity] || "")))),
      ),
    );
    invites.replaceChildren(
      ...[...state.invites.values()].map((inv) =>
        h("div", { class: "request", dataset: { uri: inv.uri } }, `You are invited to ${inv.name || inv.uri}`,
          h("div", { class: "row" },
            h("button", { type: "button", onclick: () => answerInvite(inv, true) }, "Join"),
            h("button", { type: "button", class: "secondary", onclick: () => answerInvite(inv, false) }, "Decline"))),
      ),
    );
  }

  async function answerInvite(invite, accept) {
    const { status } = await client.service("PGHandleInvite", `<args><group uri="${xmlEscape(invite.uri)}" result="${accept ? 1 : 0}"/></args>`);
    state.invites.delete(invite.uri);
    announce(status === 200 ? (accept ? `Joined ${invite.name || invite.uri}` : "Invitation declined") : `Could not answer (${status})`);
    await loadGroups();
  }

  async function loadMembers(uri) {
    const { status, doc } = await client.service("PGGetGroupMembers", groupArgs(uri));
    if (status !== 200 || !doc) return;
    state.members = Array.from(doc.querySelectorAll("member"), (m) => ({
      uri: m.getAttribute("uri"),
      sid: uriIdentity(m.getAttribute("uri")),
      name: m.getAttribute("nickname") || uriIdentity(m.getAttribute("uri")),
      role: m.getAttribute("role") || ROLES[m.getAttribute("identity")] || "",
      state: Number(m.getAttribute("state") || 0),
      scope: m.getAttribute("read-scope"),
    }));
    members.replaceChildren(
      ...state.members.map((m) =>
        h("li", { dataset: { sid: m.sid, role: m.role } },
          h("div", { class: "row" }, h("span", { class: m.state > 0 ? "dot online" : "dot", "aria-hidden": "true" }),
            h("span", {}, `${m.name} · ${m.role}`, m.role === "robot" ? h("span", { class: "presence scope" }, h("br"), SCOPES[m.scope] || `reads: ${m.scope}`) : ""))),
      ),
    );
  }

  async function openGroup(uri) {
    state.open = uri;
    const group = state.groups.get(uri);
    title.textContent = group ? group.name : uri;
    compose.hidden = false;
    admin.hidden = !(group && group.identity <= 2);
    renderGroups();
    renderMessages();
    text.focus();
    await loadMembers(uri);
  }

  function store(uri, message) {
    if (!state.messages.has(uri)) state.messages.set(uri, new Map());
    state.messages.get(uri).set(message.id || `local-${Math.random()}`, message);
    if (uri === state.open) renderMessages();
  }

  function nameOf(sid) {
    if (sid === session.me.sid) return "You";
    const member = state.members.find((m) => m.sid === sid);
    return member ? member.name : sid;
  }

  function renderMessages() {
    const items = state.messages.get(state.open) || new Map();
    messages.replaceChildren(
      ...[...items.values()].map((m) =>
        h("li", { class: m.from === session.me.sid ? "mine" : "", dataset: { from: m.from } },
          h("span", { class: "sender" }, `${nameOf(m.from)}: `),
          h("span", { class: "text" }, m.text),
          h("span", { class: "meta" }, formatTime(m.date))),
      ),
    );
    messages.scrollTop = messages.scrollHeight;
  }

  async function send(event) {
    event.preventDefault();
    const uri = state.open;
    if (!uri || !text.value.trim()) return;
    const body = text.value;
    text.value = "";
    try {
      const result = await client.sendMessage(uri, body);
      store(uri, { id: result.id, from: session.me.sid, text: body, date: result.date });
    } catch (error) {
      text.value = body;
      announce(`Not sent: ${error.message}`);
    }
  }

  client.addEventListener("message", (event) => {
    const m = event.detail;
    if (!m.source || !/^sip:PG/i.test(m.from)) return;
    const from = uriIdentity(m.source);
    store(m.from, { id: m.id, from, text: m.text, date: m.date });
    announce(`New message from ${nameOf(from)} in ${state.groups.get(m.from)?.name || "a group"}`);
  });
  client.addEventListener("notification", (event) => {
    const { event: name, type, doc } = event.detail;
    if (name !== "PGGroup" || !doc) return;
    const group = doc.querySelector("group");
    if (type === "InviteGroup" && group) {
      state.invites.set(group.getAttribute("uri"), { uri: group.getAttribute("uri"), name: group.getAttribute("name") });
      announce(`You are invited to ${group.getAttribute("name") || "a group"}`);
      renderGroups();
    } else if (group && group.getAttribute("uri") === state.open) {
      loadMembers(state.open);
    } else if (["MemberJoined", "MemberKicked", "GroupInfoChanged"].includes(type)) {
      loadGroups();
    }
  });
  await client.ask(client.request("SUB", [["N", "PGPresence"]])).catch(() => {});
  client.addEventListener("reconnected", () => {
    client.ask(client.request("SUB", [["N", "PGPresence"]])).catch(() => {});
    loadGroups().catch(() => {});
  });

  const field = (id, label, attrs = {}) => [h("label", { for: id }, label), h("input", { id, ...attrs })];
  const create = h("form", {
    id: "group-create",
    class: "panel",
    onsubmit: async (event) => {
      event.preventDefault();
      const name = $("#group-name").value.trim();
      const { status, doc } = await client.service("PGCreateGroup", `<args><group name="${xmlEscape(name)}" bulletin="" limit-member-count="150"/></args>`);
      if (status !== 200) {
        announce(`Group not created (${status})`);
        return;
      }
      event.target.reset();
      await loadGroups();
      const created = doc && doc.querySelector("group");
      if (created) await openGroup(created.getAttribute("uri"));
      announce(`Group ${name} created`);
    },
  }, h("h3", {}, "New group"), ...field("group-name", "Group name", { required: true }), h("p", {}, h("button", { type: "submit" }, "Create group")));

  admin.append(
    h("form", {
      id: "group-invite",
      onsubmit: async (event) => {
        event.preventDefault();
        const who = $("#group-invitee").value.trim();
        const uri = who.includes(":") ? who : `sip:${who}@${session.me.domain}`;
        const { status } = await client.service("PGInviteMember", `<args><group uri="${xmlEscape(state.open)}"><member uri="${xmlEscape(uri)}"/></group></args>`);
        announce(status === 200 ? `Invited ${who}` : `Could not invite ${who} (${status})`);
        if (status === 200) event.target.reset();
      },
    }, ...field("group-invitee", "Invite a member (Columba id)", { required: true }), h("p", {}, h("button", { type: "submit" }, "Invite"))),
    h("form", {
      id: "group-robot",
      onsubmit: async (event) => {
        event.preventDefault();
        const name = $("#group-robot-name").value.trim();
        const scope = $("#group-robot-scope").value;
        const { status } = await client.service("PGAddRobot", `<args><group uri="${xmlEscape(state.open)}"><robot name="${xmlEscape(name)}" read-scope="${scope}"/></group></args>`);
        announce(status === 200 ? `Robot ${name} added` : `Could not add robot ${name} (${status})`);
        if (status === 200) {
          event.target.reset();
          await loadMembers(state.open);
        }
      },
    }, ...field("group-robot-name", "Add a robot (its name)", { required: true }),
    h("label", { for: "group-robot-scope" }, "What the robot may read"),
    h("select", { id: "group-robot-scope" }, h("option", { value: "mentions" }, SCOPES.mentions), h("option", { value: "all" }, SCOPES.all)),
    h("p", {}, h("button", { type: "submit" }, "Add robot"))),
  );

  panel.replaceChildren(
    h("div", { class: "chats" },
      h("aside", { class: "contacts" }, h("h2", {}, "Groups"), invites, list, create),
      h("section", { class: "conversation" }, title, h("h3", {}, "Members and robots"), members, messages, compose, admin)),
  );
  await loadGroups();
  return { refresh: loadGroups, openGroup };
}
