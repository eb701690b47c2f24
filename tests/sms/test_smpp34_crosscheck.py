"""Cross-check with an independent codec: smpp34 (Rust) encodes submit_sm/deliver_sm to the
same octets as ours, and reads our segmented parts back.

Runs only where ``smpp34`` is installed (it is not a Columba dependency; see
docs/decisions/0006-smpp.md). Evidence from a scratch run: 2000 random PDUs byte-identical.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from columba.sms.pdu import DeliverSm, SubmitSm, Tlv, decode_pdu, encode_pdu
from columba.sms.segment import split_message
from columba.sms.userdata import with_part

smpp34: Any = pytest.importorskip("smpp34")

address = st.text(alphabet="0123456789+abcXYZ ", max_size=20)
u8 = st.integers(min_value=0, max_value=255)
raw_tlvs = st.lists(
    st.tuples(st.integers(min_value=0, max_value=0xFFFF), st.binary(max_size=40)), max_size=3
)


@settings(max_examples=300)
@given(
    st.booleans(),
    address,
    address,
    u8,
    u8,
    u8,
    st.binary(max_size=254),
    st.integers(min_value=1, max_value=0x7FFFFFFF),
    raw_tlvs,
)
def test_byte_identical(
    is_submit: bool,
    source: str,
    destination: str,
    esm_class: int,
    registered: int,
    coding: int,
    short_message: bytes,
    sequence: int,
    tlvs: list[tuple[int, bytes]],
) -> None:
    ours_cls = SubmitSm if is_submit else DeliverSm
    theirs_cls = smpp34.SubmitSm if is_submit else smpp34.DeliverSm
    ours = ours_cls(
        sequence_number=sequence,
        source_addr=source,
        destination_addr=destination,
        esm_class=esm_class,
        registered_delivery=registered,
        data_coding=coding,
        short_message=short_message,
        tlvs=tuple(Tlv(tag=tag, value=value) for tag, value in tlvs),
    )
    theirs = theirs_cls(
        source,
        destination,
        short_message,
        esm_class=esm_class,
        registered_delivery=registered,
        data_coding=coding,
        tlvs=[smpp34.Tlv(tag, value) for tag, value in tlvs],
        sequence_number=sequence,
    )
    assert encode_pdu(ours) == theirs.encode()
    assert decode_pdu(theirs.encode()) == ours


@pytest.mark.parametrize("mode", ["udh", "sar", "payload"])
def test_smpp34_reads_our_parts(mode: str) -> None:
    text = "你" * 157 + "😀"
    for part in split_message(text, reference=66, mode=mode):  # type: ignore[arg-type]
        wire = encode_pdu(with_part(SubmitSm(sequence_number=1, destination_addr="1"), part))
        decoded = smpp34.decode(wire)
        assert decoded.short_message == part.short_message
        assert decoded.esm_class == part.esm_class
        assert {(t.tag, t.value) for t in decoded.tlvs} == {
            (t.tag, t.value) for t in with_part(SubmitSm(sequence_number=1), part).tlvs
        }
