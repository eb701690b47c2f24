"""From text to PDUs on the wire and back: split -> submit_sm -> framer -> reassembly."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.sms import esme as esme_module
from columba.sms.errors import PduError
from columba.sms.esme import Esme, EsmeConfig
from columba.sms.framing import PduFramer
from columba.sms.pdu import (
    CommandStatus,
    DataSm,
    DeliverSm,
    SubmitSm,
    Tlv,
    TlvTag,
    decode_pdu,
    encode_pdu,
    find_tlv,
)
from columba.sms.reassembly import Completed, Reassembler
from columba.sms.receipt import MessageState
from columba.sms.segment import split_message
from columba.sms.userdata import part_of, receipt_of, with_part

from .strategies import any_text

TEMPLATE = DeliverSm(
    sequence_number=1,
    source_addr_ton=1,
    source_addr_npi=1,
    source_addr="8613800138000",
    destination_addr="125201234",
    tlvs=(Tlv(tag=0x1401, value=b"vendor"),),
)


@given(any_text, st.sampled_from(["udh", "sar", "payload"]), st.booleans(), st.randoms())
def test_text_survives_the_wire_in_any_order(
    text: str, mode: str, wide: bool, rnd: random.Random
) -> None:
    parts = split_message(text, reference=77, use_16bit_ref=wide, mode=mode)  # type: ignore[arg-type]
    wire = [encode_pdu(with_part(TEMPLATE, part)) for part in parts]
    rnd.shuffle(wire)
    framer = PduFramer()
    reassembler = Reassembler()
    outcome = None
    for pdu in framer.feed(b"".join(wire)):
        assert isinstance(pdu, DeliverSm)
        assert find_tlv(pdu.tlvs, 0x1401) is not None  # the template's other TLVs stay
        outcome = reassembler.receive(
            part_of(pdu), source=pdu.source_addr, destination=pdu.destination_addr, now=0
        )
    assert isinstance(outcome, Completed)
    assert outcome.text == text


def test_data_sm_carries_the_part_in_message_payload() -> None:
    (part,) = split_message("你好", reference=0)
    pdu = with_part(DataSm(sequence_number=3, esm_class=0x03), part)
    assert pdu.esm_class == 0x03
    assert pdu.data_coding == 8
    decoded = decode_pdu(encode_pdu(pdu))
    assert isinstance(decoded, DataSm)
    done = Reassembler().receive(part_of(decoded), source="a", destination="b", now=0)
    assert isinstance(done, Completed)
    assert done.text == "你好"


def test_with_part_replaces_old_user_data_tlvs() -> None:
    sar = split_message("a" * 200, reference=1, mode="sar")
    first = with_part(SubmitSm(sequence_number=1), sar[0])
    again = with_part(first, sar[1])
    seqnums = [t for t in again.tlvs if t.tag == TlvTag.SAR_SEGMENT_SEQNUM]
    assert [t.as_int() for t in seqnums] == [2]


def test_receipt_from_deliver_sm() -> None:
    pdu = DeliverSm(
        sequence_number=9,
        esm_class=0x04,
        short_message=b"id:12345 sub:001 dlvrd:001 submit date:2501011200 "
        b"done date:2501011201 stat:DELIVRD err:000 text:",
        tlvs=(
            Tlv.from_cstring(TlvTag.RECEIPTED_MESSAGE_ID, "3039"),
            Tlv.from_int(TlvTag.MESSAGE_STATE, 2, 1),
            Tlv(tag=TlvTag.NETWORK_ERROR_CODE, value=b"\x03\x00\x00"),
        ),
    )
    receipt = receipt_of(pdu)
    assert receipt.message_id == "3039"
    assert receipt.state is MessageState.DELIVERED
    assert receipt.network_error_code == (3, 0)
    assert receipt.delivered == 1


def test_receipt_from_data_sm_payload() -> None:
    pdu = DataSm(
        sequence_number=1,
        esm_class=0x04,
        tlvs=(Tlv(tag=TlvTag.MESSAGE_PAYLOAD, value=b"id:9 stat:EXPIRED"),),
    )
    assert receipt_of(pdu).state is MessageState.EXPIRED


def test_wrong_tlv_length_is_the_peers_fault() -> None:
    pdu = DeliverSm(
        sequence_number=4, tlvs=(Tlv(tag=TlvTag.SAR_MSG_REF_NUM, value=b"\x01\x02\x03"),)
    )
    with pytest.raises(PduError) as info:
        part_of(pdu)
    assert info.value.command_status == CommandStatus.ESME_RINVPARLEN
    assert info.value.sequence_number == 4


@given(any_text, st.sampled_from(["udh", "sar", "payload"]), st.sampled_from([None, "125201"]))
def test_the_esmes_submit_sm_is_with_part_of_its_template(
    text: str, mode: str, source: str | None
) -> None:
    config = EsmeConfig(
        host="127.0.0.1",
        port=2775,
        system_id="c",
        password="p",
        source_addr="12520",
        source_addr_ton=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
    )
    esme = Esme(config)
    template = SubmitSm(
        sequence_number=0,
        source_addr_ton=1,
        source_addr_npi=config.source_addr_npi,
        source_addr="12520" if source is None else source,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="8613800000002",
        registered_delivery=config.registered_delivery,
    )
    for part in split_message(text, reference=7, mode=mode):  # type: ignore[arg-type]
        expected = with_part(template, part)
        assert esme._submit_sm("8613800000002", source, part) == expected
        quiet = replace(expected, registered_delivery=0)
        assert esme._submit_sm("8613800000002", source, part, 0) == quiet


def test_concatenation_references_count_per_phone_and_only_recent_phones_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(esme_module, "REFERENCES_KEPT", 3)
    esme = Esme(EsmeConfig(host="127.0.0.1", port=2775, system_id="c", password="p"))
    first = esme._reference("a")
    assert [esme._reference("a") for _ in range(3)] == [(first + n) % 256 for n in (1, 2, 3)]
    for phone in "bc":
        esme._reference(phone)
    esme._reference("a")  # texted again: now the newest, so "b" is the one dropped
    esme._reference("d")
    assert list(esme._references) == ["c", "a", "d"]
    assert esme._references["a"] % 256 == (first + 5) % 256
