// The Columba web client: sign in, then the panels (chats; groups, SMS, apps and virtual
// phones when the server offers them). It talks SIP-C over the WebSocket at /sip.
import { Chats } from "./chats.js";
import { $, announce, fetchJson, tabs } from "./dom.js";
import { SipcClient } from "./sipc.js";

const socketUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sip`;
const session = { client: null, chats: null, panels: [] };

/** Optional panels: modules that export `available()` and `mount(session, panel)`. */
const PANELS = [
  ["tab-groups", "panel-groups", "./groups.js"],
  ["tab-sms", "panel-sms", "./sms.js"],
  ["tab-apps", "panel-apps", "./apps.js"],
  ["tab-phones", "panel-phones", "./phones.js"],
];

/**
 * Sign in through single sign-in (POST /ssi/signin, then one SIP-C R carrying the SSI
 * session) when the server offers it; otherwise the SIP-C password login (SCRAM-SHA-256).
 */
async function signIn(identity, password) {
  let ssi = null;
  try {
    ssi = await fetchJson("/ssi/signin", {
      method: "POST",
      body: JSON.stringify({ id: identity, password }),
    });
  } catch (error) {
    if (error.status !== 404 && error.status !== 405) throw error;
  }
  const client = new SipcClient(socketUrl);
  await client.connect();
  const doc = ssi
    ? await client.loginWithCredential(ssi.user.sid, `SSI ssic="${ssi.session}"`)
    : await client.login(identity, password);
  session.ssi = ssi;
  await startSession(client, doc);
}

/** After any successful login (password or single sign-in): build the workspace. */
export async function startSession(client, doc) {
  session.client = client;
  const personal = doc ? doc.querySelector("user-info > personal") : null;
  const uri = personal ? personal.getAttribute("uri") : `sip:${client.sid}@columba.local`;
  session.me = {
    sid: client.sid,
    userId: client.userId,
    uri,
    domain: uri.split("@")[1] || "columba.local",
    name: personal ? personal.getAttribute("nickname") || client.sid : client.sid,
    number: personal ? personal.getAttribute("mobile-no") : "",
  };
  client.addEventListener("notification", (event) => {
    if (event.detail.event === "registration" && event.detail.type === "deregistered") {
      session.client = null;
      client.close();
      showSignIn("You were signed out (a login elsewhere, or an administrator ended the session).");
    }
  });
  client.addEventListener("closed", (event) => {
    if (session.client !== client || event.detail.expected) return;
    if (session.ssi) reconnect(client);
    else showSignIn("The connection to the server was lost. Sign in again.");
  });
  session.chats = new Chats(client, session.me);
  session.chats.start(doc);
  await client.subscribePresence();
  $("#sign-in").hidden = true;
  $("#workspace").hidden = false;
  $("#me").hidden = false;
  $("#me").textContent = `${session.me.name} (${session.me.sid})`;
  setConnection("online");
  $("#sign-out").hidden = false;
  announce(`Signed in as ${session.me.name}`);
  for (const [tabId, panelId, path] of PANELS) {
    try {
      const module = await import(path);
      if (await module.available(session)) {
        $(`#${tabId}`).hidden = false;
        session.panels.push(await module.mount(session, $(`#${panelId}`)));
      }
    } catch {
      // the feature is not on this server: its tab stays hidden
    }
  }
  $("#add-contact").focus();
}

/** Show (and expose to tests as body[data-connection]) whether the connection is up. */
function setConnection(state) {
  document.body.dataset.connection = state;
  $("#connection").textContent = state === "reconnecting" ? "Reconnecting…" : "";
}

/**
 * The connection dropped (server restart, network change): log in again with the SSI session,
 * waiting 1, 2, 4 … 10 s between attempts. The same device comes back, so the server hands it
 * what it missed; panels refresh on the client's "reconnected" event.
 */
async function reconnect(client) {
  if (session.reconnecting) return;
  session.reconnecting = true;
  try {
    setConnection("reconnecting");
    for (let wait = 1000; session.client === client; wait = Math.min(wait * 2, 10000)) {
      announce("Connection lost. Reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (session.client !== client) return;
      try {
        await client.connect();
        await client.loginWithCredential(client.sid, `SSI ssic="${session.ssi.session}"`);
        await client.subscribePresence();
        client.dispatchEvent(new CustomEvent("reconnected"));
        setConnection("online");
        announce("Reconnected");
        return;
      } catch (error) {
        if (error.status === 401 || error.status === 403) {
          showSignIn("Your session has ended. Sign in again.");
          return;
        }
      }
    }
  } finally {
    session.reconnecting = false;
  }
}

function showSignIn(message = "") {
  for (const panel of session.panels) if (panel && panel.stop) panel.stop();
  session.panels = [];
  if (session.chats) session.chats.stop();
  session.client = null;
  $("#workspace").hidden = true;
  $("#me").hidden = true;
  $("#sign-out").hidden = true;
  $("#sign-in").hidden = false;
  $("#sign-in-error").textContent = message;
  $("#identity").focus();
}

$("#sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  $("#sign-in-error").textContent = "";
  try {
    await signIn($("#identity").value.trim(), $("#password").value);
    $("#password").value = "";
  } catch (error) {
    $("#sign-in-error").textContent =
      error.status === 401 || error.status === 403
        ? "Wrong id, number or password."
        : `Could not sign in: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});

$("#sign-out").addEventListener("click", async () => {
  const client = session.client;
  session.client = null;
  if (client) await client.logout();
  if (session.ssi) {
    await fetchJson("/ssi/signout", { method: "POST", headers: { Authorization: `Bearer ${session.ssi.session}` } }).catch(() => {});
    session.ssi = null;
  }
  showSignIn("Signed out.");
});

tabs($("#tablist"));
