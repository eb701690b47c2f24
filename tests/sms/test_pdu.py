"""SMPP 3.4 PDU codec: golden octets computed from the spec, round trips, and errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from columba.sms.errors import PduError, SmsUsageError
from columba.sms.pdu import (
    PDU_CLASSES,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
    Unbind,
    UnbindResp,
    decode_pdu,
    encode_pdu,
    find_tlv,
    is_response,
    response_to,
)


def h(*pieces: str) -> bytes:
    return bytes.fromhex("".join(pieces))


PHONE = "38363133383030313338303030"  # "8613800138000"
ACCESS = "3132353230"  # "12520"

GOLDEN: list[tuple[Pdu, bytes]] = [
    (EnquireLink(sequence_number=1), h("00000010 00000015 00000000 00000001")),
    (EnquireLinkResp(sequence_number=1), h("00000010 80000015 00000000 00000001")),
    (Unbind(sequence_number=2), h("00000010 00000006 00000000 00000002")),
    (UnbindResp(sequence_number=2), h("00000010 80000006 00000000 00000002")),
    (
        GenericNack(sequence_number=7, command_status=CommandStatus.ESME_RINVCMDID),
        h("00000010 80000000 00000003 00000007"),
    ),
    (
        BindTransmitter(sequence_number=1, system_id="smppclient1", password="password"),
        h(
            "0000002a 00000002 00000000 00000001",
            "736d7070636c69656e743100",  # system_id
            "70617373776f726400",  # password
            "00",  # system_type
            "34 00 00",  # interface_version 3.4, addr_ton, addr_npi
            "00",  # address_range
        ),
    ),
    (
        BindTransceiverResp(sequence_number=1, system_id="SMSC"),
        h("00000015 80000009 00000000 00000001 534d534300"),
    ),
    (
        SubmitSm(
            sequence_number=2,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="12520",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="8613800138000",
            registered_delivery=1,
            short_message=b"hello",
        ),
        h(
            "00000038 00000004 00000000 00000002",
            "00",  # service_type
            "01 01",
            ACCESS,
            "00",
            "01 01",
            PHONE,
            "00",
            "00 00 00",  # esm_class, protocol_id, priority_flag
            "00 00",  # schedule_delivery_time, validity_period
            "01 00 00 00",  # registered_delivery, replace, data_coding, sm_default_msg_id
            "05 68656c6c6f",
        ),
    ),
    (
        SubmitSmResp(sequence_number=2, message_id="1a2b"),
        h("00000015 80000004 00000000 00000002 3161326200"),
    ),
    (
        SubmitSmResp(sequence_number=3, command_status=CommandStatus.ESME_RTHROTTLED),
        h("00000010 80000004 00000058 00000003"),  # §4.4.2: no body on error
    ),
    (
        DeliverSm(
            sequence_number=9,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="8613800138000",
            destination_addr="12520",
            esm_class=0x04,
            tlvs=(
                Tlv.from_cstring(TlvTag.RECEIPTED_MESSAGE_ID, "1a2b"),
                Tlv.from_int(TlvTag.MESSAGE_STATE, 2, 1),
            ),
        ),
        h(
            "00000041 00000005 00000000 00000009",
            "00",
            "01 01",
            PHONE,
            "00",
            "00 00",
            ACCESS,
            "00",
            "04 00 00 00 00 00 00 00 00",
            "00",  # sm_length 0
            "001e 0005 3161326200",
            "0427 0001 02",
        ),
    ),
    (DeliverSmResp(sequence_number=9), h("00000011 80000005 00000000 00000009 00")),
    (
        DataSm(
            sequence_number=4,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="12520",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="8613800138000",
            registered_delivery=1,
            data_coding=8,
            tlvs=(Tlv(tag=TlvTag.MESSAGE_PAYLOAD, value="你好".encode("utf-16-be")),),
        ),
        h(
            "00000034 00000103 00000000 00000004",
            "00 01 01",
            ACCESS,
            "00 01 01",
            PHONE,
            "00",
            "00 01 08",
            "0424 0004 4f60597d",
        ),
    ),
]


@pytest.mark.parametrize(("pdu", "wire"), GOLDEN, ids=lambda v: type(v).__name__)
def test_golden(pdu: Pdu, wire: bytes) -> None:
    assert encode_pdu(pdu).hex() == wire.hex()
    assert decode_pdu(wire) == pdu


def test_error_response_body_is_read_when_present_and_absent() -> None:
    with_body = h("00000011 80000004 00000058 00000003 00")
    assert decode_pdu(with_body) == SubmitSmResp(sequence_number=3, command_status=0x58)
    bare = h("00000010 80000009 0000000e 00000001")
    assert decode_pdu(bare) == BindTransceiverResp(sequence_number=1, command_status=0x0E)


def test_tlv_helpers() -> None:
    tlvs = (Tlv(tag=TlvTag.RECEIPTED_MESSAGE_ID, value=b"abc"),)  # some SMSCs omit the NUL
    found = find_tlv(tlvs, TlvTag.RECEIPTED_MESSAGE_ID)
    assert found is not None
    assert found.as_cstring() == "abc"
    assert find_tlv(tlvs, TlvTag.MESSAGE_STATE) is None
    assert Tlv.from_int(TlvTag.SAR_MSG_REF_NUM, 258, 2).value == b"\x01\x02"
    assert Tlv.from_int(TlvTag.SAR_MSG_REF_NUM, 258, 2).as_int() == 258
    with pytest.raises(SmsUsageError):
        Tlv.from_int(TlvTag.MESSAGE_STATE, 256, 1)


def test_response_to() -> None:
    resp = response_to(SubmitSm(sequence_number=42), message_id="m1")
    assert resp == SubmitSmResp(sequence_number=42, message_id="m1")
    nack = response_to(BindTransmitter(sequence_number=1), command_status=0x0E)
    assert nack == BindTransmitterResp(sequence_number=1, command_status=0x0E)
    assert isinstance(response_to(EnquireLink(sequence_number=3)), EnquireLinkResp)
    with pytest.raises(SmsUsageError):
        response_to(SubmitSmResp(sequence_number=1))
    with pytest.raises(SmsUsageError):
        response_to(GenericNack(sequence_number=1))


def test_is_response() -> None:
    assert is_response(CommandId.SUBMIT_SM_RESP)
    assert is_response(CommandId.GENERIC_NACK)
    assert not is_response(CommandId.DELIVER_SM)


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        (h("0000000c 00000015 00000000"), CommandStatus.ESME_RINVCMDLEN),  # short header
        (h("00000011 00000015 00000000 00000001"), CommandStatus.ESME_RINVCMDLEN),  # length
        (h("00000010 00000099 00000000 00000001"), CommandStatus.ESME_RINVCMDID),
        (h("00000010 00000004 00000000 00000001"), CommandStatus.ESME_RINVCMDLEN),  # no body
        (
            h("00000011 00000015 00000000 00000001 00"),  # enquire_link with a body
            CommandStatus.ESME_RINVCMDLEN,
        ),
        (
            h("00000029 00000004 00000000 00000001 00 0101", "31" * 21, "00"),
            CommandStatus.ESME_RINVSRCADR,  # 21 digits + NUL > 21
        ),
        (
            h("00000015 00000002 00000000 00000001 6162636465"),  # system_id cut short
            CommandStatus.ESME_RINVCMDLEN,
        ),
        (
            h("00000030 00000002 00000000 00000001", "61" * 16, "00" * 16),  # 16 + NUL > 16
            CommandStatus.ESME_RINVSYSID,
        ),
        (
            h("00000014 80000103 00000000 00000001 00 0424 00"),  # truncated TLV
            CommandStatus.ESME_RINVOPTPARSTREAM,
        ),
        (
            h("00000017 80000103 00000000 00000001 00 0424 0009 0102"),  # TLV too long
            CommandStatus.ESME_RINVOPTPARSTREAM,
        ),
    ],
)
def test_decode_errors_name_the_status(wire: bytes, status: int) -> None:
    with pytest.raises(PduError) as info:
        decode_pdu(wire)
    assert info.value.command_status == status


def test_sm_length_past_the_end() -> None:
    pdu = bytearray(encode_pdu(SubmitSm(sequence_number=5, short_message=b"hello")))
    pdu[-6] = 9  # sm_length says 9, five octets follow
    with pytest.raises(PduError) as info:
        decode_pdu(bytes(pdu))
    assert info.value.command_status == CommandStatus.ESME_RINVMSGLEN
    assert info.value.sequence_number == 5
    assert info.value.command_id == CommandId.SUBMIT_SM


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSm(sequence_number=1, source_addr="1" * 21),
        SubmitSm(sequence_number=1, short_message=b"x" * 255),
        SubmitSm(sequence_number=1, service_type="a\x00b"),
        SubmitSm(sequence_number=1, destination_addr="你"),
        SubmitSm(sequence_number=1, esm_class=256),
        EnquireLink(sequence_number=2**32),
        DataSm(sequence_number=1, tlvs=(Tlv(tag=1, value=b"x" * 65536),)),
        BindTransmitter(sequence_number=1, password="123456789"),
    ],
)
def test_encode_refuses_what_does_not_fit(pdu: Pdu) -> None:
    with pytest.raises(SmsUsageError):
        encode_pdu(pdu)


# -- round trips ------------------------------------------------------------------------------


def cstr(size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=size - 1)


u8 = st.integers(min_value=0, max_value=255)
seq = st.integers(min_value=0, max_value=0x7FFFFFFF)
status = st.integers(min_value=0, max_value=0xFFFFFFFF)
tlvs = st.lists(
    st.builds(Tlv, tag=st.integers(min_value=0, max_value=0xFFFF), value=st.binary(max_size=300)),
    max_size=4,
).map(tuple)

bind = {
    "sequence_number": seq,
    "system_id": cstr(16),
    "password": cstr(9),
    "system_type": cstr(13),
    "interface_version": u8,
    "addr_ton": u8,
    "addr_npi": u8,
    "address_range": cstr(41),
}
short_message = {
    "sequence_number": seq,
    "service_type": cstr(6),
    "source_addr_ton": u8,
    "source_addr_npi": u8,
    "source_addr": cstr(21),
    "dest_addr_ton": u8,
    "dest_addr_npi": u8,
    "destination_addr": cstr(21),
    "esm_class": u8,
    "protocol_id": u8,
    "priority_flag": u8,
    "schedule_delivery_time": cstr(17),
    "validity_period": cstr(17),
    "registered_delivery": u8,
    "replace_if_present_flag": u8,
    "data_coding": u8,
    "sm_default_msg_id": u8,
    "short_message": st.binary(max_size=254),
    "tlvs": tlvs,
}
data_sm = {
    "sequence_number": seq,
    "service_type": cstr(6),
    "source_addr_ton": u8,
    "source_addr_npi": u8,
    "source_addr": cstr(65),
    "dest_addr_ton": u8,
    "dest_addr_npi": u8,
    "destination_addr": cstr(65),
    "esm_class": u8,
    "registered_delivery": u8,
    "data_coding": u8,
    "tlvs": tlvs,
}
response = {"sequence_number": seq, "command_status": status}

PDUS: st.SearchStrategy[Pdu] = st.one_of(
    *(st.builds(cls, **bind) for cls in (BindTransmitter, BindReceiver, BindTransceiver)),
    *(
        st.builds(cls, **response, system_id=cstr(16), tlvs=tlvs)
        for cls in (BindTransmitterResp, BindReceiverResp, BindTransceiverResp)
    ),
    *(st.builds(cls, **short_message) for cls in (SubmitSm, DeliverSm)),
    *(st.builds(cls, **response, message_id=cstr(65)) for cls in (SubmitSmResp, DeliverSmResp)),
    st.builds(DataSm, **data_sm),
    st.builds(DataSmResp, **response, message_id=cstr(65), tlvs=tlvs),
    *(st.builds(cls, sequence_number=seq) for cls in (Unbind, EnquireLink)),
    *(st.builds(cls, **response) for cls in (UnbindResp, EnquireLinkResp, GenericNack)),
)


@given(PDUS)
def test_round_trip(pdu: Pdu) -> None:
    wire = encode_pdu(pdu)
    assert int.from_bytes(wire[:4], "big") == len(wire)
    assert decode_pdu(wire) == pdu


def test_every_class_is_covered() -> None:
    assert len(PDU_CLASSES) == 17


def test_base_classes_are_not_pdus() -> None:
    with pytest.raises(SmsUsageError):
        encode_pdu(Pdu(sequence_number=1))
    with pytest.raises(SmsUsageError):
        Tlv.from_cstring(TlvTag.RECEIPTED_MESSAGE_ID, "你")
