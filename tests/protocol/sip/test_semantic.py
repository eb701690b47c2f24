"""Tests for the application-layer checks (RFC 3261 §8.2, §16.3; RFC 4475 §3.2–3.4; SIP-C)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from columba.protocol.errors import ParseError
from columba.protocol.sip import Request, Response, parse_message, serialize, validate
from columba.protocol.sip import headers as h
from columba.protocol.sip.semantic import (
    DEFAULT_POLICY,
    Discard,
    ServerPolicy,
    Verdict,
    check_message,
    check_request,
    check_response,
    make_response,
    reason_phrase,
)
from columba.protocol.sip.serializer import ensure_content_length

REPO = Path(__file__).resolve().parents[3]
CORPUS = Path(os.environ.get("COLUMBA_CORPUS") or REPO.parent / "shared" / "corpus")
TORTURE = CORPUS / "sip" / "torture"
SIPC = CORPUS / "sipc"
UAS = ServerPolicy(is_proxy=False)

#: What a Columba server does with each RFC 4475 message under the default policy: ``None`` to
#: process it, a status to answer with (syntax rejections included), ``"discard"`` to drop it.
SERVER_VERDICTS: dict[str, int | str | None] = {
    # §3.1.1 valid messages. Two carry methods no server dispatches: 501 (RFC 3261 §21.5.2).
    "wsinv.dat": None,
    "intmeth.dat": 501,
    "esc01.dat": None,
    "escnull.dat": None,
    "esc02.dat": 501,  # RE%47IST%45R is not REGISTER
    "lwsdisp.dat": None,
    "longreq.dat": None,
    "dblreq.dat": None,
    "semiuri.dat": None,
    "transports.dat": None,
    "mpart01.dat": None,
    "unreason.dat": None,
    "noreason.dat": None,
    # §3.1.2 invalid messages: refused by the syntax check.
    "badinv01.dat": 400,
    "clerr.dat": 400,
    "ncl.dat": 400,
    "scalar02.dat": 400,
    "scalarlg.dat": 400,
    "quotbal.dat": 400,
    "ltgtruri.dat": 400,
    "lwsruri.dat": 400,
    "lwsstart.dat": 400,
    "trws.dat": 400,
    "escruri.dat": 400,
    "baddate.dat": 400,
    "regbadct.dat": 400,
    "badaspec.dat": 400,
    "baddn.dat": 400,
    "badvers.dat": 505,
    "mismatch01.dat": 400,
    "mismatch02.dat": 400,
    "bigcode.dat": 400,
    # §3.2 transaction layer: fall back to RFC 2543 matching.
    "badbranch.dat": None,
    # §3.3 application layer.
    "insuf.dat": 400,
    "unkscm.dat": 416,
    "novelsc.dat": 416,
    "unksm2.dat": 400,
    "bext01.dat": 420,
    "invut.dat": 415,
    "regaut01.dat": 401,
    "multi01.dat": 400,
    "mcl01.dat": 400,
    "bcast.dat": "discard",
    "zeromf.dat": 483,
    "cparam01.dat": None,
    "cparam02.dat": None,
    "regescrt.dat": None,
    "sdp01.dat": 406,
    # §3.4 backward compatibility.
    "inv2543.dat": None,
    # In the archive, described by no section: no SIP-Version, a header line without a colon.
    "test.dat": 400,
}


def server_verdict(data: bytes, policy: ServerPolicy = DEFAULT_POLICY) -> int | str | None:
    try:
        message = parse_message(data)
        validate(message)
    except ParseError as exc:
        return exc.status
    outcome = check_message(message, policy=policy)
    if isinstance(outcome, Discard):
        return "discard"
    return None if outcome is None else outcome.status


def load(path: Path) -> Request:
    message = parse_message(path.read_bytes())
    validate(message)
    assert isinstance(message, Request)
    return message


def torture(name: str) -> Request:
    return load(TORTURE / name)


def sip_request(*lines: str, body: bytes = b"") -> Request:
    """A request from text lines (start line first), CRLF-terminated, validated."""
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return load_bytes(data)


def load_bytes(data: bytes) -> Request:
    message = parse_message(data)
    validate(message)
    assert isinstance(message, Request)
    return message


BASE = (
    "Via: SIP/2.0/UDP client.example.com;branch=z9hG4bKx1",
    "Max-Forwards: 70",
    "From: <sip:alice@example.com>;tag=a1",
    "To: <sip:bob@example.com>",
    "Call-ID: c1@client.example.com",
)


def options(*extra: str, method: str = "OPTIONS", uri: str = "sip:bob@example.com") -> Request:
    return sip_request(f"{method} {uri} SIP/2.0", *BASE, f"CSeq: 1 {method}", *extra)


# --- Every torture message ----------------------------------------------------------------------


def test_the_table_covers_every_torture_file() -> None:
    assert set(SERVER_VERDICTS) == {path.name for path in TORTURE.glob("*.dat")}


@pytest.mark.parametrize(("name", "expected"), sorted(SERVER_VERDICTS.items()))
def test_server_verdict_on_each_torture_message(name: str, expected: int | str | None) -> None:
    assert server_verdict((TORTURE / name).read_bytes()) == expected


# --- RFC 4475 §3.3, case by case ----------------------------------------------------------------


def test_insuf_names_the_missing_headers_and_tolerates_no_max_forwards() -> None:
    verdict = check_request(torture("insuf.dat"))
    assert verdict == Verdict(status=400, reason="Missing To, From, Call-ID")


def test_inv2543_without_max_forwards_or_branch_is_processed() -> None:
    request = torture("inv2543.dat")
    assert request.max_forwards is None
    assert request.via[0].branch is None
    assert check_request(request) is None


def test_multi01_names_every_repeated_single_valued_header() -> None:
    verdict = check_request(torture("multi01.dat"))
    assert verdict is not None
    assert verdict.status == 400
    assert verdict.reason == "Multiple values for Max-Forwards, CSeq, Call-ID, From, To"


def test_two_content_lengths_are_refused_even_past_the_parser() -> None:
    # mcl01 never reaches check_request (the parser refuses the framing); build it by hand.
    request = parse_message(TORTURE.joinpath("mcl01.dat").read_bytes().replace(b": 13", b": 5"))
    assert isinstance(request, Request)
    assert request.count("content-length") == 2
    verdict = check_request(request)
    assert verdict == Verdict(status=400, reason="Multiple values for Content-Length")


@pytest.mark.parametrize("name", ["unkscm.dat", "novelsc.dat"])
def test_request_uri_schemes_the_server_does_not_route_get_416(name: str) -> None:
    assert check_request(torture(name)) == Verdict(status=416, reason="Unsupported URI Scheme")


def test_a_policy_may_route_an_atypical_scheme() -> None:
    policy = ServerPolicy(schemes=DEFAULT_POLICY.schemes | {"soap.beep"})
    assert check_request(torture("novelsc.dat"), policy=policy) is None


def test_unksm2_register_needs_a_sip_to() -> None:
    verdict = check_request(torture("unksm2.dat"))
    assert verdict == Verdict(status=400, reason="To of a REGISTER must be a SIP or SIPS URI")


def test_bext01_lists_require_then_proxy_require_tags_by_default() -> None:
    verdict = check_request(torture("bext01.dat"))
    assert verdict is not None
    assert (verdict.status, verdict.reason) == (420, "Bad Extension")
    [(name, value)] = verdict.headers
    assert name == "Unsupported"
    assert h.parse_tokens(value, "Unsupported") == [
        "nothingSupportsThis",
        "nothingSupportsThisEither",
        "noProxiesSupportThis",
        "norDoAnyProxiesSupportThis",
    ]


def test_bext01_as_a_uas_lists_only_the_require_tags() -> None:
    verdict = check_request(torture("bext01.dat"), policy=UAS)
    assert verdict is not None
    assert verdict.headers == (("Unsupported", "nothingSupportsThis, nothingSupportsThisEither"),)


def test_supported_option_tags_compare_ignoring_case() -> None:
    policy = ServerPolicy(supported=frozenset({"Path", "timer"}))
    assert check_request(options("Require: path, TIMER"), policy=policy) is None
    verdict = check_request(options("Require: path, 100rel, path"), policy=policy)
    assert verdict is not None
    assert verdict.headers == (("Unsupported", "100rel"),)


def test_a_uas_ignores_proxy_require() -> None:
    assert check_request(options("Proxy-Require: sec-agree"), policy=UAS) is None
    assert check_request(options("Proxy-Require: sec-agree")) is not None


def test_invut_gets_415_with_the_accepted_types() -> None:
    verdict = check_request(torture("invut.dat"))
    assert verdict is not None
    assert (verdict.status, verdict.reason) == (415, "Unsupported Media Type")
    [(name, value)] = verdict.headers
    assert name == "Accept"
    assert {mt.mime for mt in h.parse_accept(value)} == DEFAULT_POLICY.accepted_types


def test_regaut01_gets_a_fresh_challenge() -> None:
    verdict = check_request(torture("regaut01.dat"))
    assert verdict == Verdict(status=401, reason="Unauthorized")
    assert verdict.is_challenge


def test_unknown_proxy_authorization_scheme_gets_407() -> None:
    verdict = check_request(options("Proxy-Authorization: Bogus x=1"))
    assert verdict is not None
    assert (verdict.status, verdict.is_challenge) == (407, True)


def test_digest_credentials_pass() -> None:
    request = options('Authorization: Digest username="alice",realm="example.com",nonce="n"')
    assert check_request(request) is None


def test_zeromf_is_483_for_a_proxy_and_processed_by_a_uas() -> None:
    assert check_request(torture("zeromf.dat")) == Verdict(status=483, reason="Too Many Hops")
    assert check_request(torture("zeromf.dat"), policy=UAS) is None


def test_sdp01_gets_406_with_a_399_warning() -> None:
    verdict = check_request(torture("sdp01.dat"))
    assert verdict is not None
    assert (verdict.status, verdict.reason) == (406, "Not Acceptable")
    fields = dict(verdict.headers)
    assert fields["Accept"] == "application/sdp"
    [warning] = h.parse_warnings(fields["Warning"])
    assert (warning.code, warning.agent) == (399, "columba")


@pytest.mark.parametrize(
    ("accept", "acceptable"),
    [
        ("application/sdp", True),
        ("APPLICATION/SDP;level=1", True),
        ("application/*", True),
        ("*/*", True),
        ("text/plain, application/sdp;q=0.5", True),
        ("application/sdp;q=0", False),
        ("application/sdp;q=0.000", False),
        ("text/*", False),
        ("", False),  # an empty Accept: nothing is acceptable (RFC 3261 §20.1)
    ],
)
def test_invite_accept_ranges(accept: str, acceptable: bool) -> None:
    verdict = check_request(options(f"Accept: {accept}", method="INVITE"))
    assert (verdict is None) == acceptable
    if verdict is not None:
        assert verdict.status == 406


def test_accept_only_matters_for_invite() -> None:
    assert check_request(options("Accept: text/nobodyKnowsThis")) is None


@pytest.mark.parametrize("name", ["badbranch.dat", "cparam01.dat", "cparam02.dat", "regescrt.dat"])
def test_acceptable_oddities_are_processed(name: str) -> None:
    assert check_request(torture(name)) is None


# --- Methods, bodies, schemes -------------------------------------------------------------------


def test_a_known_method_the_server_does_not_serve_gets_405_with_allow() -> None:
    verdict = check_request(options(method="REFER"))
    assert verdict is not None
    assert (verdict.status, verdict.reason) == (405, "Method Not Allowed")
    [(name, value)] = verdict.headers
    assert name == "Allow"
    assert set(value.split(", ")) == DEFAULT_POLICY.methods


def test_methods_are_case_sensitive() -> None:
    verdict = check_request(options(method="message"))
    assert verdict is not None
    assert verdict.status == 501


@pytest.mark.parametrize("uri", ["sips:bob@example.com", "tel:+8613800138000", "SIP:bob@x.org"])
def test_routable_request_uris(uri: str) -> None:
    assert check_request(options(uri=uri)) is None


def check_with_body(request: Request, body: bytes) -> Verdict | None:
    return check_request(request.with_body(body))


def test_a_body_needs_a_content_type_in_sip() -> None:
    verdict = check_with_body(options(method="MESSAGE"), b"hi")
    assert verdict == Verdict(status=400, reason="Missing Content-Type for a message body")


def test_a_content_type_without_a_body_is_not_checked() -> None:
    assert check_request(options("Content-Type: application/unknown", method="MESSAGE")) is None


def test_unknown_content_encoding_gets_415_with_accept_encoding() -> None:
    request = options("Content-Type: text/plain", "Content-Encoding: gzip", method="MESSAGE")
    verdict = check_with_body(request, b"\x1f\x8b")
    assert verdict == Verdict(
        status=415, reason="Unsupported Media Type", headers=(("Accept-Encoding", "identity"),)
    )
    policy = ServerPolicy(accepted_encodings=frozenset({"gzip"}))
    assert check_request(request.with_body(b"\x1f\x8b"), policy=policy) is None


def test_the_first_failing_check_in_rfc_order_decides() -> None:
    # Unsupported scheme (§16.3 step 2) before Max-Forwards (step 3) before Require (step 5).
    head = (
        "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bKo",
        "From: <sip:a@x>;tag=1",
        "To: <sip:b@x>",
    )
    tail = ("Call-ID: o1", "CSeq: 1 OPTIONS", "Require: foo", "Max-Forwards: 0")
    statuses = [
        check_request(sip_request(f"OPTIONS {uri} SIP/2.0", *head, *tail))
        for uri in ("urn:x:y", "sip:b@x")
    ]
    assert [verdict.status if verdict else None for verdict in statuses] == [416, 483]
    verdict = check_request(sip_request("OPTIONS sip:b@x SIP/2.0", *head, *tail), policy=UAS)
    assert verdict is not None
    assert verdict.status == 420


# --- SIP-C --------------------------------------------------------------------------------------

SIPC_FILES = sorted(path.name for path in SIPC.glob("*.txt"))


@pytest.mark.parametrize("name", SIPC_FILES)
def test_every_sipc_corpus_message_is_processed(name: str) -> None:
    message = parse_message((SIPC / name).read_bytes())
    validate(message)
    assert check_message(message) is None


def sipc(*lines: str, body: bytes = b"") -> Request:
    return sip_request(*lines, body=body)


def test_sipc_requests_need_f_i_q() -> None:
    verdict = check_request(sipc("R fetion.com.cn SIP-C/4.0", "I: 1", "Q: 1 R"))
    assert verdict == Verdict(status=400, reason="Missing F")
    verdict = check_request(sipc("R fetion.com.cn SIP-C/4.0", "F: 700100200"))
    assert verdict == Verdict(status=400, reason="Missing I, Q")


def test_a_bn_names_no_sender() -> None:
    assert check_request(sipc("BN 700100200 SIP-C/4.0", "N: contact", "I: 1", "Q: 6 BN")) is None


def test_sipc_repeated_single_headers_are_named_by_letter() -> None:
    request = sipc("M fetion.com.cn SIP-C/4.0", "F: 700100200", "I: 11", "I: 12", "Q: 2 M")
    assert check_request(request) == Verdict(status=400, reason="Multiple values for I")


def test_sipc_repeated_a_and_k_are_fine() -> None:
    request = load(SIPC / "006-register-verify-request.txt")
    assert request.count("A") == 2
    assert check_request(request) is None


def test_unknown_sipc_method_gets_501() -> None:
    verdict = check_request(sipc("X fetion.com.cn SIP-C/4.0", "F: 7", "I: 1", "Q: 1 X"))
    assert verdict is not None
    assert verdict.status == 501


def test_sipc_unknown_auth_scheme_gets_unauthoried_in_4_0() -> None:
    lines = ("F: 700100200", "I: 1", "Q: 2 R", 'A: Bogus response="x"')
    verdict = check_request(sipc("R fetion.com.cn SIP-C/4.0", *lines))
    assert verdict == Verdict(status=401, reason="Unauthoried")
    verdict = check_request(sipc("R fetion.com.cn SIP-C/2.0", *lines))
    assert verdict == Verdict(status=401, reason="Unauthorized")


def test_sipc_body_without_c_is_fine_but_an_unknown_c_is_not() -> None:
    lines = ("M fetion.com.cn SIP-C/4.0", "F: 7", "I: 1", "Q: 1 M", "T: tel:13800138000")
    assert check_request(sipc(*lines, "L: 2", body=b"hi")) is None
    verdict = check_request(sipc(*lines, "C: image/png", "L: 2", body=b"hi"))
    assert verdict is not None
    assert verdict.status == 415


# --- Responses ----------------------------------------------------------------------------------


def response(*lines: str) -> Response:
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    validate(message)
    assert isinstance(message, Response)
    return message


RESPONSE_TAIL = (
    "From: <sip:a@x>;tag=1",
    "To: <sip:b@x>;tag=2",
    "Call-ID: c",
    "CSeq: 1 MESSAGE",
)


def test_bcast_is_discarded() -> None:
    bcast = parse_message((TORTURE / "bcast.dat").read_bytes())
    assert isinstance(bcast, Response)
    outcome = check_response(bcast)
    assert isinstance(outcome, Discard)
    assert "255.255.255.255" in outcome.reason


@pytest.mark.parametrize(
    "via",
    [
        "SIP/2.0/UDP 224.0.1.75;branch=z9hG4bKm",
        "SIP/2.0/UDP 0.0.0.0;branch=z9hG4bKm",
        "SIP/2.0/UDP [ff02::1];branch=z9hG4bKm",
        "SIP/2.0/UDP host.example.com;received=255.255.255.255;branch=z9hG4bKm",
    ],
)
def test_responses_bound_for_broadcast_or_multicast_are_discarded(via: str) -> None:
    top = "Via: SIP/2.0/UDP me.example.com;branch=z9hG4bKa"
    message = response("SIP/2.0 200 OK", top, f"Via: {via}", *RESPONSE_TAIL)
    assert isinstance(check_response(message), Discard)


def test_a_broadcast_top_via_is_our_own_business() -> None:
    top = "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bKa"
    message = response("SIP/2.0 200 OK", top, *RESPONSE_TAIL)
    assert check_response(message) is None


def test_an_endpoint_drops_responses_with_several_vias() -> None:
    vias = (
        "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bKa",
        "Via: SIP/2.0/UDP b.example.com;branch=z9hG4bKb",
    )
    message = response("SIP/2.0 200 OK", *vias, *RESPONSE_TAIL)
    assert check_response(message) is None
    assert isinstance(check_response(message, policy=UAS), Discard)


def test_responses_missing_transaction_headers_are_discarded() -> None:
    outcome = check_response(response("SIP/2.0 200 OK", *RESPONSE_TAIL))
    assert outcome == Discard(reason="missing Via")
    outcome = check_response(response("SIP-C/4.0 200 OK", "I: 5"))
    assert outcome == Discard(reason="missing Q")


# --- Reason phrases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "version", "phrase"),
    [
        (200, "SIP/2.0", "OK"),
        (401, "SIP/2.0", "Unauthorized"),
        (401, "SIP-C/4.0", "Unauthoried"),
        (401, "SIP-C/2.0", "Unauthorized"),
        (280, "SIP-C/4.0", "Send SMS OK"),
        (280, "SIP-C/2.0", "Send SMS OK"),
        (421, "SIP-C/4.0", "Extension Required"),
        (421, "SIP/2.0", "Extension Required"),
        (521, "SIP-C/4.0", "Already Exists"),
        (522, "SIP-C/4.0", "No Subscription"),
        (201, "SIP-C/4.0", "Successful"),
        (416, "SIP/2.0", "Unsupported URI Scheme"),
        (483, "SIP/2.0", "Too Many Hops"),
        (299, "SIP/2.0", "OK"),  # unknown codes read as their class's x00 (RFC 3261 §21)
        (699, "SIP/2.0", "Busy Everywhere"),
    ],
)
def test_reason_phrases(status: int, version: str, phrase: str) -> None:
    assert reason_phrase(status, version=version) == phrase


# --- Building responses -------------------------------------------------------------------------


def test_a_sip_response_copies_vias_from_to_call_id_cseq() -> None:
    request = torture("transports.dat")
    reply = make_response(request, 200, to_tag="t1")
    assert reply.start_line == "SIP/2.0 200 OK"
    names = [header.name for header in reply.headers]
    assert names == ["Via"] * 5 + ["From", "To", "Call-ID", "CSeq", "Content-Length"]
    assert reply.via == request.via
    assert reply.from_ == request.from_
    assert reply.to is not None
    assert reply.to.tag == "t1"
    assert (reply.call_id, reply.cseq) == (request.call_id, request.cseq)
    again = parse_message(serialize(reply))
    validate(again)
    assert check_message(again) is None


def test_an_existing_to_tag_is_kept_and_folds_survive() -> None:
    request = torture("wsinv.dat")
    assert request.to is not None
    reply = make_response(request, 180, to_tag="other")
    assert reply.to is not None
    assert reply.to.tag == request.to.tag == "1918181833n"
    validate(parse_message(serialize(reply)))


def test_timestamp_is_echoed_and_extra_headers_follow() -> None:
    request = options("Timestamp: 54")
    reply = make_response(request, 100, extra=(("Server", "Columba"),))
    assert reply.reason == "Trying"
    assert [hd.name for hd in reply.headers][-3:] == ["Timestamp", "Server", "Content-Length"]
    assert reply.get("timestamp") == "54"


def test_a_sip_response_body_gets_its_length_from_the_serializer() -> None:
    reply = make_response(options(), 200).with_body(b"v=0\r\n")
    assert serialize(reply).endswith(b"Content-Length: 5\r\n\r\nv=0\r\n")


def test_a_verdict_becomes_a_response() -> None:
    request = torture("bext01.dat")
    verdict = check_request(request)
    assert verdict is not None
    reply = verdict.response_to(request, to_tag="x")
    assert (reply.status, reply.reason) == (420, "Bad Extension")
    assert reply.get("unsupported") == verdict.headers[0][1]


def test_sipc_280_matches_the_corpus() -> None:
    request = load(SIPC / "027-message-sendcatsms-request.txt")
    golden = (SIPC / "028-message-sendcatsms-280-response.txt").read_bytes()
    body = golden.split(b"\r\n\r\n", 1)[1]
    reply = ensure_content_length(make_response(request, 280).with_body(body))
    assert serialize(reply) == golden


def test_sipc_401_matches_the_corpus() -> None:
    request = load(SIPC / "001-register-request.txt")
    golden = (SIPC / "002-register-401-response.txt").read_bytes()
    challenge = parse_message(golden).get("W")
    assert challenge is not None
    reply = make_response(request, 401, extra=(("WWW-Authenticate", challenge),))
    assert serialize(reply) == golden


def test_sipc_client_200_to_a_server_invite_matches_the_corpus() -> None:
    request = load(SIPC / "039-invite-incoming-request.txt")
    golden = (SIPC / "040-invite-incoming-200-response.txt").read_bytes()
    assert serialize(make_response(request, 200, to_tag="ignored")) == golden


def test_sipc_2_0_reason_and_no_length_without_body() -> None:
    reply = make_response(load(SIPC / "058-sipc2-register-request.txt"), 401)
    assert reply.start_line == "SIP-C/2.0 401 Unauthorized"
    assert not reply.has("L")
    assert [hd.name for hd in reply.headers] == ["F", "I", "Q"]
    assert reply.get("I") == "1"  # the 2.0 client's trailing space is echoed as written
    assert reply.headers[1].value == "1 "
