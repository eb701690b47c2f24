// Columba's SIP-C client for the browser: SIP-C over WebSocket (RFC 7118 "sip" subprotocol,
// one SIP-C message per WebSocket message), the two-step SCRAM-SHA-256 login of
// docs/protocol/login.md computed with WebCrypto, and the requests the web client uses.
// It mirrors columba.client.sipc.SipcClient (Python); both speak the protocol every other
// client speaks, so there is no second message API to keep in step.

import { b64, scram } from "./scram.js";

const CRLF = "\r\n";
const VERSION = "SIP-C/4.0";
const DOMAIN = "fetion.com.cn";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Escape a value for an XML attribute or text. */
export function xmlEscape(value) {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** The sid (or number) a URI names: sip:700000001@host -> 700000001, tel:+86… -> +86…. */
export function uriIdentity(uri) {
  const match = /^(?:sips?|tel):([^@;]+)/.exec(uri || "");
  return match ? decodeURIComponent(match[1]) : uri || "";
}

/** A parsed SIP-C message: {isRequest, method, uri, status, reason, headers: [[n, v]], body}. */
export function parseMessage(text) {
  const split = text.indexOf(CRLF + CRLF);
  const head = split >= 0 ? text.slice(0, split) : text;
  const body = split >= 0 ? text.slice(split + 4) : "";
  const lines = head.split(CRLF);
  const start = lines[0].split(" ");
  const headers = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const message = { headers, body };
  if (start[0].startsWith("SIP-C/") || start[0].startsWith("SIP/")) {
    message.isRequest = false;
    message.status = Number(start[1]);
    message.reason = start.slice(2).join(" ");
  } else {
    message.isRequest = true;
    message.method = start[0];
    message.uri = start[1] || "";
  }
  message.get = (name) => {
    const found = headers.find(([n]) => n === name);
    return found ? found[1] : null;
  };
  return message;
}

/** Serialize a message; L is the body's UTF-8 length and appears only with a body. */
export function serialize(startLine, headers, body = "") {
  const lines = [startLine];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (body) lines.push(`L: ${encoder.encode(body).length}`);
  return lines.join(CRLF) + CRLF + CRLF + body;
}

function parseXml(text) {
  if (!text) return null;
  const doc = new DOMParser().parseFromString(text, "application/xml");
  return doc.getElementsByTagName("parsererror").length ? null : doc;
}

/** Parameters of a Digest-style header: Digest a="b",c="d". */
function authParams(value) {
  const params = {};
  const re = /([A-Za-z-]+)="?([^",]*)"?/g;
  let match;
  while ((match = re.exec((value || "").replace(/^\S+\s+/, "")))) params[match[1]] = match[2];
  return params;
}

function randomHex(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

export class ClientError extends Error {
  constructor(message, status = null) {
    super(message);
    this.status = status;
  }
}

/**
 * One SIP-C device over WebSocket. Events (EventTarget): "message" {id, from, source,
 * contentType, text, date}, "presence" {userId, sid, name, value}, "contact" {type, element},
 * "notification" {event, type, doc, body} for every BN, "closed" {expected} (expected: close()
 * was called). connect() may be called again after "closed": listeners and the machine code
 * (the device's identity, so it gets what it missed) stay; then log in again.
 */
export class SipcClient extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.sid = "";
    this.userId = 0;
    this.machineCode = randomHex(16);
    this.callIds = 1;
    this.cseq = 1;
    this.pending = new Map();
    this.seen = new Set();
    this.socket = null;
    this.keepAliveTimer = null;
    this.closing = false;
  }

  /** Open the WebSocket; resolves once it is open with the "sip" subprotocol. */
  connect() {
    this.closing = false;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, "sip");
      this.socket = socket;
      socket.onopen = () => {
        if (socket.protocol !== "sip") {
          socket.close();
          reject(new ClientError("the server did not accept the sip subprotocol"));
          return;
        }
        resolve();
      };
      socket.onerror = () => reject(new ClientError("could not connect to " + this.url));
      socket.onclose = () => {
        if (socket !== this.socket) return; // an earlier connection, replaced by reconnecting
        clearInterval(this.keepAliveTimer);
        for (const { reject: fail } of this.pending.values()) {
          fail(new ClientError("connection closed"));
        }
        this.pending.clear();
        this.dispatchEvent(new CustomEvent("closed", { detail: { expected: this.closing } }));
      };
      socket.onmessage = async (event) => {
        const text = typeof event.data === "string" ? event.data : decoder.decode(
          new Uint8Array(await event.data.arrayBuffer()));
        this.receive(parseMessage(text));
      };
    });
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  request(method, headers, body = "", callId = null) {
    const id = callId || String(this.callIds++);
    const seq = this.cseq++;
    const all = [["F", this.sid], ["I", id], ["Q", `${seq} ${method}`], ...headers];
    return { key: `${id}|${seq}`, text: serialize(`${method} ${DOMAIN} ${VERSION}`, all, body) };
  }

  /** Send a request and resolve with its final response (rejects after `within` ms). */
  ask({ key, text }, within = 10000) {
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new ClientError("not connected"));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new ClientError("no answer from the server"));
      }, within);
      this.pending.set(key, {
        resolve: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.send(text);
    });
  }

  receive(message) {
    if (!message.isRequest) {
      const seq = (message.get("Q") || "").split(" ")[0];
      const key = `${message.get("I")}|${seq}`;
      const waiter = this.pending.get(key);
      if (waiter && message.status >= 200) {
        this.pending.delete(key);
        waiter.resolve(message);
      }
      return;
    }
    if (message.method === "M") {
      this.answer(message, 200);
      const id = message.get("XI") || "";
      if (id && this.seen.has(id)) return;
      if (id) this.seen.add(id);
      this.dispatchEvent(
        new CustomEvent("message", {
          detail: {
            id,
            from: message.get("F") || "",
            source: message.get("SO"),
            contentType: message.get("C") || "text/plain",
            text: message.body,
            date: message.get("D"),
          },
        }),
      );
    } else if (message.method === "BN") {
      this.notification(message);
    } else if (["I", "O", "IN", "B"].includes(message.method)) {
      this.answer(message, 200);
    }
  }

  answer(request, status) {
    const headers = ["F", "I", "Q"]
      .filter((name) => request.get(name) !== null)
      .map((name) => [name, request.get(name)]);
    this.socket.send(serialize(`${VERSION} ${status} OK`, headers));
  }

  notification(message) {
    const event = message.get("N") || "";
    const doc = parseXml(message.body);
    const node = doc ? doc.querySelector("event") : null;
    const type = node ? node.getAttribute("type") : "";
    this.dispatchEvent(new CustomEvent("notification", { detail: { event, type, doc, body: message.body } }));
    if (!doc) return;
    if (event === "PresenceV4") {
      for (const c of doc.querySelectorAll("c")) {
        const p = c.querySelector("p");
        const pr = c.querySelector("pr");
        this.dispatchEvent(
          new CustomEvent("presence", {
            detail: {
              userId: Number(c.getAttribute("id")),
              sid: p ? p.getAttribute("sid") : "",
              uri: p ? p.getAttribute("su") : "",
              name: p ? p.getAttribute("n") : "",
              value: pr ? Number(pr.getAttribute("b")) : 0,
            },
          }),
        );
      }
    } else if (event === "contact") {
      this.dispatchEvent(new CustomEvent("contact", { detail: { type, element: node } }));
    }
  }

  /** Log in with SCRAM-SHA-256 in two steps; resolves with the login <results> document. */
  async login(identity, password, presence = 400) {
    this.sid = identity;
    const cnonce = randomHex(16);
    const callId = String(this.callIds++);
    const first = await this.ask(
      this.request("R", [["CN", cnonce], ["CL", 'type="web" ,version="columba"']], "", callId),
    );
    if (first.status !== 401) {
      throw new ClientError(`login step 1: ${first.status} ${first.reason}`, first.status);
    }
    const challenge = authParams(first.get("W"));
    const salt = b64.decode(challenge.salt || "");
    const iterations = Number(challenge.iterations || 4096);
    const authMessage = `${identity},${cnonce},${challenge.nonce},${challenge.salt},${iterations}`;
    const { proof, serverSignature } = await scram(password, salt, iterations, authMessage);
    const credentials =
      `Digest algorithm="SCRAM-SHA-256",nonce="${challenge.nonce}",` +
      `response="${b64.encode(proof)}"`;
    const body =
      `<args><device machine-code="${this.machineCode}"/><caps value="1ff"/>` +
      `<presence><basic value="${presence}" desc=""/></presence></args>`;
    const second = await this.ask(
      this.request("R", [["A", credentials], ["AK", "ak-value"]], body, callId),
    );
    if (second.status !== 200) {
      throw new ClientError(`login refused: ${second.status} ${second.reason}`, second.status);
    }
    const rspauth = authParams(second.get("A")).rspauth || "";
    if (b64.encode(serverSignature) !== rspauth) {
      throw new ClientError("the server did not prove it knows our verifier");
    }
    return this.loggedIn(second);
  }

  /**
   * Log in with a credential from single sign-in instead of a password: one R whose A header
   * the SSI interface gives: `SSI ssic="<session token>"` (docs/single-sign-in.md).
   */
  async loginWithCredential(identity, authorization, presence = 400) {
    this.sid = identity;
    const body =
      `<args><device machine-code="${this.machineCode}"/><caps value="1ff"/>` +
      `<presence><basic value="${presence}" desc=""/></presence></args>`;
    const response = await this.ask(
      this.request("R", [["A", authorization], ["AK", "ak-value"]], body),
    );
    if (response.status !== 200) {
      throw new ClientError(`login refused: ${response.status} ${response.reason}`, response.status);
    }
    return this.loggedIn(response);
  }

  loggedIn(response) {
    const doc = parseXml(response.body);
    const personal = doc ? doc.querySelector("user-info > personal") : null;
    if (personal) {
      this.sid = personal.getAttribute("sid") || this.sid;
      this.userId = Number(personal.getAttribute("user-id"));
    }
    const lifetime = Number(response.get("X") || 600);
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = setInterval(
      () => this.ask(this.request("R", [["N", "KeepAlive"]])).catch(() => {}),
      Math.max(30, lifetime * 0.8) * 1000,
    );
    return doc;
  }

  async subscribePresence() {
    const body = '<args><subscription self="v4default" buddy="v4default" version="0"/></args>';
    const response = await this.ask(this.request("SUB", [["N", "PresenceV4"]], body));
    if (response.status !== 200) throw new ClientError(`subscribe: ${response.status}`, response.status);
  }

  /** Send an IM; resolves {id, status} (200 delivered to the server, 280 sent as SMS). */
  async sendMessage(to, text, contentType = "text/plain") {
    const response = await this.ask(
      this.request("M", [["T", to], ["C", contentType], ["K", "SaveHistory"], ["N", "CatMsg"]], text),
    );
    if (response.status !== 200 && response.status !== 280) {
      throw new ClientError(`message refused: ${response.status} ${response.reason}`, response.status);
    }
    return { id: response.get("XI") || "", status: response.status, date: response.get("D") };
  }

  /** An S request with N: event; resolves {status, reason, doc}. */
  async service(event, body) {
    const response = await this.ask(this.request("S", [["N", event]], body));
    return { status: response.status, reason: response.reason, doc: parseXml(response.body), response };
  }

  addContact(uri) {
    return this.service(
      "AddBuddyV4",
      `<args><contacts><buddies><buddy uri="${xmlEscape(uri)}" buddy-lists="" desc=""/></buddies></contacts></args>`,
    );
  }

  answerContact(userId, accept) {
    return this.service(
      "HandleContactRequestV4",
      `<args><contacts><buddies><buddy user-id="${xmlEscape(userId)}" result="${accept ? 1 : 0}"/></buddies></contacts></args>`,
    );
  }

  setPresence(value) {
    return this.service("SetPresenceV4", `<args><presence><basic value="${value}"/></presence></args>`);
  }

  /** GetHistoryV4: [{id, seq, from, date, contentType, state, text}], oldest first. */
  async history(uri, { afterSeq = null, limit = 50 } = {}) {
    const after = afterSeq === null ? "" : ` after-seq="${afterSeq}"`;
    const { status, doc } = await this.service(
      "GetHistoryV4",
      `<args><history uri="${xmlEscape(uri)}" limit="${limit}"${after}/></args>`,
    );
    if (status !== 200 || !doc) throw new ClientError(`history: ${status}`, status);
    return Array.from(doc.querySelectorAll("history > m"), (m) => ({
      id: m.getAttribute("id"),
      seq: Number(m.getAttribute("seq")),
      from: m.getAttribute("from"),
      date: m.getAttribute("date"),
      contentType: m.getAttribute("c"),
      state: m.getAttribute("state"),
      text: m.textContent,
    }));
  }

  /** Log out (R with X: 0) and close. */
  async logout() {
    clearInterval(this.keepAliveTimer);
    try {
      await this.ask(this.request("R", [["X", "0"]]), 3000);
    } catch {
      // closing anyway
    }
    this.close();
  }

  close() {
    this.closing = true;
    clearInterval(this.keepAliveTimer);
    if (this.socket) this.socket.close();
  }
}
