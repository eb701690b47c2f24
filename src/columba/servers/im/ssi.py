"""SIP-C and single sign-in: logging in with an SSI session, and per-app credentials.

- Login: ``R`` with ``A: SSI ssic="<session token>"`` (and ``F: <sid>``) logs in at once, with
  no challenge round, as Fetion 2.0 clients presented ``ssic`` (fetion-sipc.md §2.4); the
  answer is the same 200 with ``<results>`` as the password login.
- Sign-out: signing out of SSI ends the IM logins made with (or given) that session; the
  devices get the usual ``BN registration`` "deregistered" notice.
- Credentials: ``S`` with ``N: SSIGetCredential`` and ``<args><credential app="…"
  nonce="…"/></args>`` answers ``<results><credential app c expires login-url/></results>``,
  as Fetion delivered one credential per trusting domain (§2.3 step 6). A device logged in
  with its password gets an SSI session on its first request, so the flow works for both.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

from columba.core.registry import Binding
from columba.net.link import Link
from columba.protocol.errors import ParseError
from columba.protocol.sip.auth import AuthParams, parse_auth
from columba.protocol.sip.message import Request
from columba.protocol.sipc.bodies import element
from columba.servers.im import sipc_session
from columba.servers.im.server import ImServer
from columba.ssi.service import NotSignedIn
from columba.storage import Account, NotFound
from columba.storage.ssi import SsiSession

#: The ``A:`` scheme carrying an SSI session token.
SCHEME = "SSI"


def ssi_credentials(request: Request) -> AuthParams | None:
    """The ``A: SSI ssic="…"`` of a request, if any."""
    for raw in request.authorization():
        try:
            parsed = parse_auth(raw)
        except ParseError:
            continue
        if parsed.has_scheme(SCHEME):
            return parsed
    return None


async def sipc_login(
    server: ImServer, request: Request, link: Link, credentials: AuthParams, identity: str
) -> None:
    """Log a SIP-C device in with an SSI session token."""
    verified = await server.login.verify_ssi(credentials, identity=identity)
    if verified is None:
        # Same slow-down as a wrong password: a stolen-token guesser gains nothing by speed.
        await asyncio.sleep(server.login.failures.base_delay)
        if server.metrics is not None:
            server.metrics.login_failed()
        server.reply(link, request, 401, "SSI session unknown or ended")
        return
    session, account = verified
    await sipc_session.logged_in(server, request, link, account, ssi_session=session.session_id)


async def get_credential(
    server: ImServer, binding: Binding, account: Account, args: ET.Element
) -> tuple[int, str]:
    """``N: SSIGetCredential``: a credential for one app, encrypted under its key."""
    node = args.find("credential")
    if node is None or not node.get("app"):
        raise ParseError('<credential app="…"/> required')
    nonce = node.get("nonce")
    if nonce is not None and len(nonce) > 256:
        raise ParseError("nonce too long")
    service = server.login.ssi
    session = None
    if binding.ssi_session is not None:
        try:
            session = await service.live_session(binding.ssi_session)
        except NotSignedIn:
            return 401, ""  # signed out of SSI: no more credentials on this login
    if session is None:
        _, session = await service.open_session(account.user_id)
        binding.ssi_session = session.session_id
    try:
        issued = await service.credential(session, account, node.get("app", ""), nonce=nonce)
    except NotFound:
        return 404, ""
    except NotSignedIn:
        return 401, ""
    attrs = {
        "app": issued.app.app_id,
        "c": issued.credential,
        "expires": issued.expires_in,
        "login-url": issued.app.login_urls[0] if issued.app.login_urls else "",
    }
    return 200, f"<results>{element('credential', attrs)}</results>"


async def end_logins(server: ImServer, session: SsiSession) -> None:
    """Push out every device of ``session``'s user that logged in with that session."""
    for binding in list(server.registry.bindings(session.user_id)):
        if binding.ssi_session == session.session_id:
            await server.push_out(binding)
