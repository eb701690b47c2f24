// SCRAM-SHA-256 (RFC 5802, RFC 7677) for the SIP-C login of docs/protocol/login.md, by
// WebCrypto. WebCrypto (crypto.subtle) exists only in a secure context: pages served over
// HTTPS, or from localhost / 127.0.0.1; elsewhere scram() fails with a clear error.

const encoder = new TextEncoder();

export const b64 = {
  decode: (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)),
  encode: (bytes) => btoa(String.fromCharCode(...bytes)),
};

function subtle() {
  if (!globalThis.crypto || !globalThis.crypto.subtle) {
    throw new Error("this page needs HTTPS (or localhost) for the browser's WebCrypto login");
  }
  return globalThis.crypto.subtle;
}

async function hmac(key, data) {
  const k = await subtle().importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await subtle().sign("HMAC", k, data));
}

/** The client proof and the server signature to expect, for one AuthMessage. */
export async function scram(password, salt, iterations, authMessage) {
  const base = await subtle().importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = new Uint8Array(
    await subtle().deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 256),
  );
  const clientKey = await hmac(salted, encoder.encode("Client Key"));
  const storedKey = new Uint8Array(await subtle().digest("SHA-256", clientKey));
  const signature = await hmac(storedKey, encoder.encode(authMessage));
  const proof = clientKey.map((byte, i) => byte ^ signature[i]);
  const serverKey = await hmac(salted, encoder.encode("Server Key"));
  const serverSignature = await hmac(serverKey, encoder.encode(authMessage));
  return { proof, serverSignature };
}

