"""Columba's SIP-C login: a two-step ``R`` carrying SCRAM-SHA-256 (RFC 5802, RFC 7677).

Fetion's own scheme (RSA over a SHA-1 password hash, fetion-sipc.md §2.3) needs the server to
know a password-equivalent hash. Columba keeps the two-step shape Fetion clients expect and
puts a salted, modern exchange inside it:

1. C→S ``R <domain> SIP-C/4.0`` with ``F: <sid>``, ``CN: <client nonce>`` (32 hex digits).
2. S→C ``401`` with ``W: Digest algorithm="SCRAM-SHA-256",nonce="<CN><server nonce>",
   salt="<base64>",iterations="<i>"``.
3. C→S ``R`` with ``A: Digest algorithm="SCRAM-SHA-256",response="<base64 client proof>"``.
4. S→C ``200`` with ``A: Digest rspauth="<base64 server signature>"`` (mutual authentication)
   or ``401`` again.

``AuthMessage = "<sid>,<client nonce>,<nonce>,<salt b64>,<iterations>"``;
``ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)``;
``ServerSignature = HMAC(ServerKey, AuthMessage)``. All functions here are pure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

ALGORITHM = "SCRAM-SHA-256"


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    """SaltedPassword := Hi(password, salt, i) = PBKDF2-HMAC-SHA-256 (RFC 5802 §3)."""
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


def client_key(salted: bytes) -> bytes:
    """ClientKey := HMAC(SaltedPassword, "Client Key")."""
    return hmac.new(salted, b"Client Key", hashlib.sha256).digest()


def server_key(salted: bytes) -> bytes:
    """ServerKey := HMAC(SaltedPassword, "Server Key")."""
    return hmac.new(salted, b"Server Key", hashlib.sha256).digest()


def stored_key(client: bytes) -> bytes:
    """StoredKey := H(ClientKey)."""
    return hashlib.sha256(client).digest()


def auth_message(*, sid: str, cnonce: str, nonce: str, salt: bytes, iterations: int) -> bytes:
    """The text both sides sign: every value of the exchange, in order."""
    salt_b64 = base64.b64encode(salt).decode("ascii")
    return f"{sid},{cnonce},{nonce},{salt_b64},{iterations}".encode()


def client_proof(password: str, *, salt: bytes, iterations: int, message: bytes) -> bytes:
    """What the client sends: ClientKey XOR HMAC(StoredKey, AuthMessage)."""
    key = client_key(salted_password(password, salt, iterations))
    signature = hmac.new(stored_key(key), message, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(key, signature, strict=True))


def verify_proof(proof: bytes, *, stored: bytes, message: bytes) -> bool:
    """Server side: recover ClientKey from the proof and check H(ClientKey) == StoredKey."""
    if len(proof) != len(stored):
        return False
    signature = hmac.new(stored, message, hashlib.sha256).digest()
    recovered = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
    return hmac.compare_digest(stored_key(recovered), stored)


def server_signature(server: bytes, message: bytes) -> bytes:
    """ServerSignature := HMAC(ServerKey, AuthMessage): proves the server knew the verifier."""
    return hmac.new(server, message, hashlib.sha256).digest()


def expected_server_signature(
    password: str, *, salt: bytes, iterations: int, message: bytes
) -> bytes:
    """Client side: the server signature a genuine server will send."""
    return server_signature(server_key(salted_password(password, salt, iterations)), message)
