"""HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 7616, RFC 8760).

Client side: :func:`choose_challenge` picks the first challenge we support from a 401/407 (RFC
8760 §2.4: the server lists them in order of preference) and :func:`make_credentials` answers it.

Server side: :class:`NonceManager` issues nonces that can be checked without storing them, and
remembers nonce-counts to refuse replays. A request is authorized when all of these hold::

    nonce = creds.get("nonce") or ""
    status = nonces.check(nonce, now)                          # VALID, STALE or INVALID
    ok = verify(creds, method=method, ha1=stored_ha1, realm=realm)
    accepted = ok and status is NonceStatus.VALID and nonces.accept_nc(nonce, creds.get("nc"))

A correct response on a STALE nonce is answered with a new challenge carrying ``stale=true``
(RFC 7616 §3.3), so the client retries without asking its user for the password again; anything
else gets a plain challenge. Record the nonce-count only after the response checked out, or a
forger could burn the counts of a real client.

Hashes are over UTF-8 text and written as lower-case hex (RFC 7616 §3.4.1). Fetion's
``SHA1-sess-v4`` and ``MD5-sess;SHA1-sess`` are not RFC Digest and are handled by the SIP-C code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Collection, Iterable
from enum import Enum, StrEnum

from columba.protocol.errors import LocalProtocolError, ParseError
from columba.protocol.sip.auth import AuthParams

__all__ = [
    "DEFAULT_ALGORITHMS",
    "Algorithm",
    "NonceManager",
    "NonceStatus",
    "choose_challenge",
    "compute_ha1",
    "compute_response",
    "make_challenge",
    "make_challenges",
    "make_credentials",
    "verify",
]


class Algorithm(StrEnum):
    """Digest algorithms of the IANA "HTTP Digest Hash Algorithms" registry (RFC 7616)."""

    MD5 = "MD5"
    MD5_SESS = "MD5-sess"
    SHA_256 = "SHA-256"
    SHA_256_SESS = "SHA-256-sess"
    SHA_512_256 = "SHA-512-256"
    SHA_512_256_SESS = "SHA-512-256-sess"

    @classmethod
    def parse(cls, value: str | None) -> Algorithm:
        """Read an ``algorithm`` parameter; absent means MD5 (RFC 7616 §3.3).

        Raises:
            ParseError: The algorithm is not one we implement.
        """
        if value is None:
            return cls.MD5
        found = _BY_LOWER_NAME.get(value.lower())
        if found is None:
            raise ParseError(f"unsupported digest algorithm {value!r}")
        return found

    @property
    def is_session(self) -> bool:
        """Whether HA1 is re-keyed per nonce and cnonce (the ``-sess`` variants)."""
        return self.value.endswith("-sess")

    @property
    def hash_name(self) -> str:
        """The underlying hash; a stored HA1 serves both ``X`` and ``X-sess`` of the same hash."""
        return self.value.removesuffix("-sess")

    def hexdigest(self, data: str | bytes) -> str:
        """Hash ``data`` and return lower-case hex.

        Text is encoded as UTF-8, with ``surrogateescape`` so that header text decoded that way
        hashes as the bytes that were on the wire.
        """
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        return hashlib.new(_HASHLIB_NAMES[self.hash_name], raw).hexdigest()


_BY_LOWER_NAME = {algorithm.value.lower(): algorithm for algorithm in Algorithm}
_HASHLIB_NAMES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}

#: RFC 8760 §2.4: offer the strongest first, and MD5 last for clients that know nothing else.
DEFAULT_ALGORITHMS = (Algorithm.SHA_256, Algorithm.MD5)

_QOPS = ("auth", "auth-int")
_NC = re.compile(r"[0-9A-Fa-f]{8}")


class NonceStatus(Enum):
    """What :meth:`NonceManager.check` thinks of a nonce."""

    VALID = "valid"
    """Ours and fresh."""
    STALE = "stale"
    """Ours but older than the lifetime: challenge again with ``stale=true``."""
    INVALID = "invalid"
    """Not ours, tampered with, or malformed: challenge again without ``stale``."""


def compute_ha1(*, algorithm: Algorithm, username: str, realm: str, password: str) -> str:
    """Compute ``H(username ":" realm ":" password)``, the HA1 a server may store.

    The result is the same for ``X`` and ``X-sess``; :func:`compute_response` applies the
    session step. Store one HA1 per :attr:`Algorithm.hash_name` the server offers.
    """
    return algorithm.hexdigest(f"{username}:{realm}:{password}")


def compute_response(
    *,
    algorithm: Algorithm,
    username: str,
    realm: str,
    password: str | None = None,
    ha1: str | None = None,
    method: str,
    uri: str,
    nonce: str,
    cnonce: str | None = None,
    nc: str | int | None = None,
    qop: str | None = None,
    body: bytes | None = None,
) -> str:
    """Compute the ``response`` directive (RFC 7616 §3.4.1, RFC 2069 when ``qop`` is None).

    Args:
        algorithm: The digest algorithm.
        username: The user name, as in the ``username`` directive.
        realm: The protection realm.
        password: The password; give exactly one of ``password`` and ``ha1``.
        ha1: A stored :func:`compute_ha1` result for the same hash.
        method: The SIP method of the request (``REGISTER``, ``MESSAGE`` …).
        uri: The ``uri`` directive (in SIP, the Request-URI).
        nonce: The server nonce.
        cnonce: The client nonce; required with ``qop`` and with ``-sess`` algorithms.
        nc: The nonce-count, as sent (``"00000001"``) or as a number.
        qop: ``"auth"``, ``"auth-int"``, or None for RFC 2069 compatibility (MD5 only).
        body: The message body, hashed into A2 for ``auth-int`` (empty when None).

    Returns:
        The response as lower-case hex.

    Raises:
        LocalProtocolError: The arguments do not make a valid combination.
    """
    if ha1 is None:
        if password is None:
            raise LocalProtocolError("give one of password and ha1")
        ha1 = compute_ha1(algorithm=algorithm, username=username, realm=realm, password=password)
    elif password is not None:
        raise LocalProtocolError("give only one of password and ha1")
    ha1 = ha1.lower()
    if algorithm.is_session:
        if cnonce is None:
            raise LocalProtocolError(f"{algorithm} needs a cnonce")
        ha1 = algorithm.hexdigest(f"{ha1}:{nonce}:{cnonce}")

    if qop == "auth-int":
        ha2 = algorithm.hexdigest(f"{method}:{uri}:{algorithm.hexdigest(body or b'')}")
    else:
        ha2 = algorithm.hexdigest(f"{method}:{uri}")

    if qop is None:
        # RFC 2069 (kept by RFC 2617 §3.2.2.1 and RFC 3261 §22.4 for old MD5 clients only).
        if algorithm is not Algorithm.MD5:
            raise LocalProtocolError(f"{algorithm} requires qop (RFC 7616 §3.3)")
        return algorithm.hexdigest(f"{ha1}:{nonce}:{ha2}")
    if qop not in _QOPS:
        raise LocalProtocolError(f"unsupported qop {qop!r}")
    if cnonce is None or nc is None:
        raise LocalProtocolError("qop needs both cnonce and nc")
    return algorithm.hexdigest(f"{ha1}:{nonce}:{_format_nc(nc)}:{cnonce}:{qop}:{ha2}")


def _format_nc(nc: str | int) -> str:
    if isinstance(nc, str):
        return nc  # hashed exactly as it was sent
    if not 0 < nc <= 0xFFFFFFFF:
        raise LocalProtocolError(f"nonce-count {nc} does not fit in 8 hex digits")
    return f"{nc:08x}"


def make_challenge(
    *,
    realm: str,
    nonce: str,
    algorithm: Algorithm = Algorithm.SHA_256,
    qop: tuple[str, ...] | None = ("auth",),
    opaque: str | None = None,
    stale: bool = False,
) -> AuthParams:
    """Build one ``WWW-Authenticate``/``Proxy-Authenticate`` Digest challenge.

    Args:
        realm: The protection realm, usually the domain (RFC 3261 §22.1).
        nonce: A nonce from :meth:`NonceManager.issue`.
        algorithm: Written out even for MD5, as most SIP servers do.
        qop: The qop options offered; None leaves qop out (RFC 2069, MD5 only).
        opaque: Returned unchanged by the client.
        stale: Set when the client's response was right but its nonce had expired.
    """
    params = [("realm", realm), ("nonce", nonce)]
    if opaque is not None:
        params.append(("opaque", opaque))
    params.append(("algorithm", algorithm.value))
    if qop is not None:
        params.append(("qop", ",".join(qop)))
    if stale:
        params.append(("stale", "true"))
    return AuthParams(scheme="Digest", params=tuple(params))


def make_challenges(
    *,
    realm: str,
    nonce: str,
    algorithms: Iterable[Algorithm] = DEFAULT_ALGORITHMS,
    qop: tuple[str, ...] | None = ("auth",),
    opaque: str | None = None,
    stale: bool = False,
) -> tuple[AuthParams, ...]:
    """Build one challenge per algorithm, in order, for a single 401/407 (RFC 8760 §2.4).

    Each becomes its own ``WWW-Authenticate`` header field, in the order returned.
    """
    return tuple(
        make_challenge(
            realm=realm, nonce=nonce, algorithm=algorithm, qop=qop, opaque=opaque, stale=stale
        )
        for algorithm in algorithms
    )


def choose_challenge(
    challenges: Iterable[AuthParams], *, algorithms: Collection[Algorithm] = tuple(Algorithm)
) -> AuthParams | None:
    """Pick the first Digest challenge we can answer, or None.

    Servers list their challenges in order of preference (RFC 8760 §2.4), so the first one we
    support is the one to answer.
    """
    for challenge in challenges:
        if not challenge.has_scheme("Digest") or challenge.get("nonce") is None:
            continue
        try:
            algorithm = Algorithm.parse(challenge.get("algorithm"))
            _pick_qop(challenge, algorithm)
        except ParseError:
            continue
        if algorithm in algorithms:
            return challenge
    return None


def _pick_qop(challenge: AuthParams, algorithm: Algorithm) -> str | None:
    """The qop to answer ``challenge`` with: ``auth`` if offered, None for RFC 2069.

    Raises:
        ParseError: The challenge offers no qop we implement, or none with a non-MD5 algorithm.
    """
    offered = challenge.get("qop")
    if offered is None:
        if algorithm is not Algorithm.MD5:
            raise ParseError(f"{algorithm} challenge without qop (RFC 7616 §3.3)")
        return None
    options = [option.strip() for option in offered.split(",")]
    for qop in _QOPS:
        if qop in options:
            return qop
    raise ParseError(f"no supported qop in {offered!r}")


def make_credentials(
    *,
    challenge: AuthParams,
    username: str,
    password: str | None = None,
    ha1: str | None = None,
    method: str,
    uri: str,
    cnonce: str | None = None,
    nc: int = 1,
    body: bytes | None = None,
) -> AuthParams:
    """Answer a Digest challenge with ``Authorization``/``Proxy-Authorization`` credentials.

    Args:
        challenge: A challenge, e.g. from :func:`choose_challenge`.
        username: The user name to authenticate as.
        password: The password; give exactly one of ``password`` and ``ha1``.
        ha1: A precomputed :func:`compute_ha1` for the challenge's realm and hash.
        method: The method of the request being authorized.
        uri: The Request-URI of that request.
        cnonce: The client nonce; a fresh random one when None.
        nc: How many requests this client has sent with this nonce, this one included.
        body: The request body, used only when the challenge offers ``auth-int`` and not
            ``auth``.

    Raises:
        ParseError: The challenge is not Digest, lacks realm or nonce, or asks for an algorithm
            or qop we do not implement.
    """
    if not challenge.has_scheme("Digest"):
        raise ParseError(f"cannot answer a {challenge.scheme!r} challenge with Digest")
    realm = challenge.get("realm")
    nonce = challenge.get("nonce")
    if realm is None or nonce is None:
        raise ParseError("Digest challenge without realm or nonce")
    algorithm = Algorithm.parse(challenge.get("algorithm"))
    qop = _pick_qop(challenge, algorithm)
    if qop is None:
        cnonce = nc_text = None
    else:
        cnonce = secrets.token_hex(16) if cnonce is None else cnonce
        nc_text = _format_nc(nc)
    response = compute_response(
        algorithm=algorithm,
        username=username,
        realm=realm,
        password=password,
        ha1=ha1,
        method=method,
        uri=uri,
        nonce=nonce,
        cnonce=cnonce,
        nc=nc_text,
        qop=qop,
        body=body,
    )
    params = [
        ("username", username),
        ("realm", realm),
        ("nonce", nonce),
        ("uri", uri),
        ("response", response),
        ("algorithm", algorithm.value),
    ]
    if qop is not None and cnonce is not None and nc_text is not None:
        params += [("cnonce", cnonce), ("qop", qop), ("nc", nc_text)]
    opaque = challenge.get("opaque")
    if opaque is not None:
        params.append(("opaque", opaque))
    return AuthParams(scheme="Digest", params=tuple(params))


def verify(
    credentials: AuthParams,
    *,
    method: str,
    password: str | None = None,
    ha1: str | None = None,
    realm: str | None = None,
    uri: str | None = None,
    body: bytes | None = None,
    algorithms: Collection[Algorithm] | None = None,
) -> bool:
    """Check the ``response`` in Digest credentials, in constant time.

    Only the response is checked here; the nonce's freshness and nonce-count belong to
    :class:`NonceManager`. Malformed credentials verify as False rather than raising.

    Args:
        credentials: A parsed ``Authorization`` or ``Proxy-Authorization`` value.
        method: The method of the request carrying the credentials.
        password: The user's password; give exactly one of ``password`` and ``ha1``.
        ha1: The stored HA1 for the credentials' hash
            (``Algorithm.parse(credentials.get("algorithm")).hash_name``).
        realm: When given, the credentials must be for this realm.
        uri: When given, the ``uri`` directive must equal it (RFC 7616 §3.4.6).
        body: The request body, for ``qop=auth-int``.
        algorithms: When given, only these algorithms are accepted, e.g. the ones we offered.

    Raises:
        LocalProtocolError: Neither or both of ``password`` and ``ha1`` were given.
    """
    if (password is None) == (ha1 is None):
        raise LocalProtocolError("give exactly one of password and ha1")  # before any early exit
    if not credentials.has_scheme("Digest"):
        return False
    username = credentials.get("username")
    cred_realm = credentials.get("realm")
    nonce = credentials.get("nonce")
    cred_uri = credentials.get("uri")
    response = credentials.get("response")
    if username is None or cred_realm is None or nonce is None:
        return False
    if cred_uri is None or response is None:
        return False
    if (realm is not None and cred_realm != realm) or (uri is not None and cred_uri != uri):
        return False
    try:
        algorithm = Algorithm.parse(credentials.get("algorithm"))
    except ParseError:
        return False
    if algorithms is not None and algorithm not in algorithms:
        return False
    qop = credentials.get("qop")
    cnonce = credentials.get("cnonce")
    nc = credentials.get("nc")
    if qop is None:
        # RFC 2617 §3.2.2: cnonce and nc are sent if and only if qop is.
        if cnonce is not None or nc is not None or algorithm is not Algorithm.MD5:
            return False
    elif qop not in _QOPS or cnonce is None or nc is None or not _NC.fullmatch(nc):
        return False
    try:
        expected = compute_response(
            algorithm=algorithm,
            username=username,
            realm=cred_realm,
            password=password,
            ha1=ha1,
            method=method,
            uri=cred_uri,
            nonce=nonce,
            cnonce=cnonce,
            nc=nc,
            qop=qop,
            body=body,
        )
        received = response.lower().encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no wire byte could have produced
        return False
    # Compare bytes: compare_digest rejects non-ASCII str, and the peer controls ``response``.
    return hmac.compare_digest(expected.encode(), received)


_TIMESTAMP_BYTES = 8  # milliseconds since the epoch, big-endian
_RANDOM_BYTES = 12
_MAC_BYTES = 16  # HMAC-SHA-256 truncated to 128 bits
_NONCE_BYTES = _TIMESTAMP_BYTES + _RANDOM_BYTES + _MAC_BYTES  # 36, a multiple of 3: no "="
_NONCE_CHARS = _NONCE_BYTES // 3 * 4


class NonceManager:
    """Issues stateless nonces and refuses replayed nonce-counts, for one realm.

    A nonce is ``base64(timestamp || random || HMAC-SHA-256(secret, timestamp || random ||
    realm))``, so any node holding the secret can check it without shared state. Replay
    tracking is per process and bounded: at most ``max_tracked`` nonces are remembered, the
    earliest-used forgotten first. A nonce issued no later than the newest one forgotten is then
    refused, so forgetting never reopens a replay; such a client is simply challenged again.

    Time is always a parameter (seconds, e.g. ``time.time()``), so expiry is testable.
    """

    def __init__(
        self,
        *,
        secret: bytes,
        realm: str,
        lifetime: float = 300.0,
        max_tracked: int = 100_000,
    ) -> None:
        """Create a manager.

        Args:
            secret: The HMAC key, at least 16 random bytes, shared by every node of the realm.
            realm: The realm the nonces are for; a nonce from another realm is INVALID.
            lifetime: Seconds after which a nonce is STALE.
            max_tracked: How many nonces' counts to remember.

        Raises:
            LocalProtocolError: A parameter is out of range.
        """
        if len(secret) < 16:
            raise LocalProtocolError("nonce secret must be at least 16 bytes")
        if lifetime <= 0 or max_tracked < 1:
            raise LocalProtocolError("nonce lifetime and max_tracked must be positive")
        self._secret = secret
        self._realm = realm.encode()
        self._lifetime = lifetime
        self._max_tracked = max_tracked
        # nonce -> (issue time in ms, highest nonce-count accepted); oldest first use first.
        self._counts: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._forgotten_up_to = -1  # issue time (ms) of the newest nonce evicted

    def issue(self, now: float) -> str:
        """Make a fresh nonce stamped with ``now``."""
        if not 0 <= now * 1000 < 1 << (8 * _TIMESTAMP_BYTES):  # also refuses NaN
            raise LocalProtocolError(f"time {now!r} cannot be stamped into a nonce")
        millis = int(now * 1000)
        head = millis.to_bytes(_TIMESTAMP_BYTES, "big") + secrets.token_bytes(_RANDOM_BYTES)
        return base64.b64encode(head + self._mac(head)).decode("ascii")

    def check(self, nonce: str, now: float) -> NonceStatus:
        """Tell whether ``nonce`` is ours and still fresh at ``now``."""
        millis = self._issued_at(nonce)
        if millis is None:
            return NonceStatus.INVALID
        age = now - millis / 1000
        if not age <= self._lifetime:  # written so that a NaN ``now`` is not VALID
            return NonceStatus.STALE
        if age < -self._lifetime:
            # Ours, but stamped far in the future: a node's clock is badly wrong.
            return NonceStatus.INVALID
        return NonceStatus.VALID

    def accept_nc(self, nonce: str, nc: str | int | None) -> bool:
        """Record a nonce-count, refusing one not above the last seen for ``nonce``.

        Call it only after :func:`verify` succeeded. The nonce-count must grow with each
        request that reuses a nonce (RFC 7616 §3.4), so a captured request cannot be replayed.

        Args:
            nonce: The nonce from the credentials.
            nc: The ``nc`` directive as sent (8 hex digits), or a number.

        Returns:
            True when the count is new and has been recorded; False for a replay, a malformed
            count, a nonce that is not ours, or one we may have forgotten.
        """
        count = _parse_nc(nc)
        millis = self._issued_at(nonce)
        if count is None or millis is None:
            return False
        known = self._counts.get(nonce)
        if known is None:
            if millis <= self._forgotten_up_to:
                return False
            self._counts[nonce] = (millis, count)
            while len(self._counts) > self._max_tracked:
                _, (evicted_millis, _) = self._counts.popitem(last=False)
                self._forgotten_up_to = max(self._forgotten_up_to, evicted_millis)
            return True
        if count <= known[1]:
            return False
        self._counts[nonce] = (millis, count)
        return True

    def _mac(self, head: bytes) -> bytes:
        return hmac.new(self._secret, head + self._realm, hashlib.sha256).digest()[:_MAC_BYTES]

    def _issued_at(self, nonce: str) -> int | None:
        """The issue time in ms of a nonce we made, or None."""
        if len(nonce) != _NONCE_CHARS or not nonce.isascii():
            return None
        try:
            raw = base64.b64decode(nonce, validate=True)
        except binascii.Error:
            return None
        head, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(head)):
            return None
        return int.from_bytes(head[:_TIMESTAMP_BYTES], "big")


def _parse_nc(nc: str | int | None) -> int | None:
    if isinstance(nc, int):
        return nc if 0 < nc <= 0xFFFFFFFF else None
    if nc is None or not _NC.fullmatch(nc):
        return None
    count = int(nc, 16)
    return count if count > 0 else None
