"""SMPP 3.4 PDUs: the header, the session and message PDUs Columba uses, and their codec.

Every PDU is a 16-octet header (``command_length``, ``command_id``, ``command_status``,
``sequence_number``, SMPP 3.4 §3.2) and a body of mandatory fields followed by optional TLVs
(§3.2.4, §5.3). The codec serves both roles, the ESME (our SMS server) and the built-in SMSC
simulator, so it encodes and decodes every PDU in both directions. It is sans-I/O: bytes in,
frozen dataclasses out, and back.

Field sizes are SMPP 3.4 §4's, NUL included. A response whose ``command_status`` is not
ESME_ROK and whose fields are all empty is written without a body (§4.4.2 "the body is not
returned"), and every response is read whether or not a body follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, ClassVar, NamedTuple, Self, TypeVar

from columba.slots import builder, replacer
from columba.sms.buffer import Buffer, BufferReadError
from columba.sms.codes import RESPONSE_BIT, CommandId, CommandStatus, TlvTag, is_response
from columba.sms.errors import PduError, SmsUsageError
from columba.sms.tlv import Tlv, find_tlv, pull_tlvs, push_tlvs

HEADER_OCTETS = 16
#: interface_version of SMPP 3.4 (§5.2.4).
INTERFACE_VERSION = 0x34
#: short_message holds at most 254 octets (§5.2.21); longer text goes in message_payload.
MAX_SHORT_MESSAGE = 254


class Header(NamedTuple):
    """The 16-octet header every PDU starts with (§3.2). A tuple: one is read per PDU."""

    command_length: int
    command_id: int
    command_status: int
    sequence_number: int


_new_header: Any = partial(tuple.__new__, Header)


def pull_header(buf: Buffer) -> Header:
    """Read a header (the caller checks that 16 octets are there)."""
    header: Header = _new_header(buf.pull_uint32x4())
    return header


#: Each PDU class's generated positional constructor (``columba.slots.builder``), for the
#: decoders of the PDUs that come by the thousand.
_BUILDERS: dict[type, Callable[..., Any]] = {}


def _builder_of(cls: type) -> Callable[..., Any]:
    build = _BUILDERS[cls] = builder(cls)
    return build


# -- PDU classes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Base of every PDU: the header fields other than the length, and an empty body.

    Requests carry ``command_status`` 0; responses and generic_nack carry the result.
    """

    command_id: ClassVar[CommandId]
    sequence_number: int
    command_status: int = 0

    def push_body(self, buf: Buffer) -> None:
        """Write the body's fields (none by default)."""

    @classmethod
    def pull_body(cls, buf: Buffer, header: Header) -> Self:
        """Read the body's fields (none by default)."""
        return cls(sequence_number=header.sequence_number, command_status=header.command_status)


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    """generic_nack (§4.3): the answer to a PDU with a bad header or unknown command_id."""

    command_id: ClassVar[CommandId] = CommandId.GENERIC_NACK


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    """unbind (§4.2.1)."""

    command_id: ClassVar[CommandId] = CommandId.UNBIND


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    """unbind_resp (§4.2.2)."""

    command_id: ClassVar[CommandId] = CommandId.UNBIND_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    """enquire_link (§4.11.1): the keep-alive."""

    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    """enquire_link_resp (§4.11.2)."""

    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bind(Pdu):
    """The body shared by the three bind requests (§4.1.1, §4.1.3, §4.1.5)."""

    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def push_body(self, buf: Buffer) -> None:
        buf.push_cstring(self.system_id, 16, name="system_id")
        buf.push_cstring(self.password, 9, name="password")
        buf.push_cstring(self.system_type, 13, name="system_type")
        buf.push_uint8(self.interface_version)
        buf.push_uint8(self.addr_ton)
        buf.push_uint8(self.addr_npi)
        buf.push_cstring(self.address_range, 41, name="address_range")

    @classmethod
    def pull_body(cls, buf: Buffer, header: Header) -> Self:
        return cls(
            sequence_number=header.sequence_number,
            command_status=header.command_status,
            system_id=buf.pull_cstring(16, CommandStatus.ESME_RINVSYSID),
            password=buf.pull_cstring(9, CommandStatus.ESME_RINVPASWD),
            system_type=buf.pull_cstring(13, CommandStatus.ESME_RINVSYSTYP),
            interface_version=buf.pull_uint8(),
            addr_ton=buf.pull_uint8(),
            addr_npi=buf.pull_uint8(),
            address_range=buf.pull_cstring(41, CommandStatus.ESME_RBINDFAIL),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(_Bind):
    """bind_transmitter (§4.1.1): the ESME will submit."""

    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(_Bind):
    """bind_receiver (§4.1.3): the ESME will receive deliver_sm."""

    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(_Bind):
    """bind_transceiver (§4.1.5): both directions on one connection."""

    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp(Pdu):
    """The body shared by the three bind responses: the SMSC's id, then TLVs."""

    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()

    def push_body(self, buf: Buffer) -> None:
        buf.push_cstring(self.system_id, 16, name="system_id")
        push_tlvs(buf, self.tlvs)

    @classmethod
    def pull_body(cls, buf: Buffer, header: Header) -> Self:
        return cls(
            sequence_number=header.sequence_number,
            command_status=header.command_status,
            system_id=buf.pull_cstring(16, CommandStatus.ESME_RINVSYSID),
            tlvs=pull_tlvs(buf),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    """bind_transmitter_resp (§4.1.2)."""

    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    """bind_receiver_resp (§4.1.4)."""

    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    """bind_transceiver_resp (§4.1.6)."""

    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShortMessagePdu(Pdu):
    """The body shared by submit_sm (§4.4.1) and deliver_sm (§4.6.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()

    def push_body(self, buf: Buffer) -> None:
        buf.push_cstring(self.service_type, 6, name="service_type")
        buf.push_uint8s(self.source_addr_ton, self.source_addr_npi)
        buf.push_cstring(self.source_addr, 21, name="source_addr")
        buf.push_uint8s(self.dest_addr_ton, self.dest_addr_npi)
        buf.push_cstring(self.destination_addr, 21, name="destination_addr")
        buf.push_uint8s(self.esm_class, self.protocol_id, self.priority_flag)
        buf.push_cstring(self.schedule_delivery_time, 17, name="schedule_delivery_time")
        buf.push_cstring(self.validity_period, 17, name="validity_period")
        if len(self.short_message) > MAX_SHORT_MESSAGE:
            raise SmsUsageError(
                f"short_message of {len(self.short_message)} octets; use message_payload"
            )
        buf.push_uint8s(
            self.registered_delivery,
            self.replace_if_present_flag,
            self.data_coding,
            self.sm_default_msg_id,
            len(self.short_message),
        )
        buf.push_bytes(self.short_message)
        push_tlvs(buf, self.tlvs)

    @classmethod
    def pull_body(cls, buf: Buffer, header: Header) -> Self:
        status = CommandStatus
        service_type = buf.pull_cstring(6, status.ESME_RINVSERTYP)
        source_addr_ton, source_addr_npi = buf.pull_uint8s(2)
        source_addr = buf.pull_cstring(21, status.ESME_RINVSRCADR)
        dest_addr_ton, dest_addr_npi = buf.pull_uint8s(2)
        destination_addr = buf.pull_cstring(21, status.ESME_RINVDSTADR)
        esm_class, protocol_id, priority_flag = buf.pull_uint8s(3)
        schedule_delivery_time = buf.pull_cstring(17, status.ESME_RINVSCHED)
        validity_period = buf.pull_cstring(17, status.ESME_RINVEXPIRY)
        (
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            sm_length,
        ) = buf.pull_uint8s(5)
        if sm_length > MAX_SHORT_MESSAGE or sm_length > buf.remaining():
            raise BufferReadError(f"sm_length {sm_length} is invalid", status.ESME_RINVMSGLEN)
        short_message = buf.pull_bytes(sm_length)
        # ``cls(...)`` with every field, in field order, without the keyword machinery.
        build = _BUILDERS.get(cls) or _builder_of(cls)
        pdu: Self = build(
            header.sequence_number,
            header.command_status,
            service_type,
            source_addr_ton,
            source_addr_npi,
            source_addr,
            dest_addr_ton,
            dest_addr_npi,
            destination_addr,
            esm_class,
            protocol_id,
            priority_flag,
            schedule_delivery_time,
            validity_period,
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            short_message,
            pull_tlvs(buf),
        )
        return pdu


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(_ShortMessagePdu):
    """submit_sm (§4.4.1): ESME to SMSC, a mobile-terminated message."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(_ShortMessagePdu):
    """deliver_sm (§4.6.1): SMSC to ESME, a mobile-originated message or a receipt."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class _MessageIdResp(Pdu):
    """A response carrying the SMSC's message_id (§4.4.2, §4.6.2)."""

    message_id: str = ""

    def push_body(self, buf: Buffer) -> None:
        buf.push_cstring(self.message_id, 65, name="message_id")

    @classmethod
    def pull_body(cls, buf: Buffer, header: Header) -> Self:
        build = _BUILDERS.get(cls) or _builder_of(cls)
        pdu: Self = build(
            header.sequence_number,
            header.command_status,
            buf.pull_cstring(65, CommandStatus.ESME_RINVMSGID),
        )
        return pdu


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(_MessageIdResp):
    """submit_sm_resp (§4.4.2): the id that delivery receipts will name."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(_MessageIdResp):
    """deliver_sm_resp (§4.6.2); message_id is unused and left empty."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(Pdu):
    """data_sm (§4.7.1): either direction; the text travels in ``message_payload``."""

    command_id: ClassVar[CommandId] = CommandId.DATA_SM
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def push_body(self, buf: Buffer) -> None:
        buf.push_cstring(self.service_type, 6, name="service_type")
        buf.push_uint8(self.source_addr_ton)
        buf.push_uint8(self.source_addr_npi)
        buf.push_cstring(self.source_addr, 65, name="source_addr")
        buf.push_uint8(self.dest_addr_ton)
        buf.push_uint8(self.dest_addr_npi)
        buf.push_cstring(self.destination_addr, 65, name="destination_addr")
        buf.push_uint8(self.esm_class)
        buf.push_uint8(self.registered_delivery)
        buf.push_uint8(self.data_coding)
        push_tlvs(buf, self.tlvs)

    @classmethod
    def pull_body(cls, buf: Buffer, header: Header) -> Self:
        status = CommandStatus
        return cls(
            sequence_number=header.sequence_number,
            command_status=header.command_status,
            service_type=buf.pull_cstring(6, status.ESME_RINVSERTYP),
            source_addr_ton=buf.pull_uint8(),
            source_addr_npi=buf.pull_uint8(),
            source_addr=buf.pull_cstring(65, status.ESME_RINVSRCADR),
            dest_addr_ton=buf.pull_uint8(),
            dest_addr_npi=buf.pull_uint8(),
            destination_addr=buf.pull_cstring(65, status.ESME_RINVDSTADR),
            esm_class=buf.pull_uint8(),
            registered_delivery=buf.pull_uint8(),
            data_coding=buf.pull_uint8(),
            tlvs=pull_tlvs(buf),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(Pdu):
    """data_sm_resp (§4.7.2): message_id, then TLVs that explain a failure."""

    command_id: ClassVar[CommandId] = CommandId.DATA_SM_RESP
    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()

    def push_body(self, buf: Buffer) -> None:
        buf.push_cstring(self.message_id, 65, name="message_id")
        push_tlvs(buf, self.tlvs)

    @classmethod
    def pull_body(cls, buf: Buffer, header: Header) -> Self:
        return cls(
            sequence_number=header.sequence_number,
            command_status=header.command_status,
            message_id=buf.pull_cstring(65, CommandStatus.ESME_RINVMSGID),
            tlvs=pull_tlvs(buf),
        )


#: The PDUs the codec reads, by command_id.
PDU_CLASSES: dict[int, type[Pdu]] = {
    cls.command_id: cls
    for cls in (
        GenericNack,
        BindTransmitter,
        BindTransmitterResp,
        BindReceiver,
        BindReceiverResp,
        BindTransceiver,
        BindTransceiverResp,
        Unbind,
        UnbindResp,
        EnquireLink,
        EnquireLinkResp,
        SubmitSm,
        SubmitSmResp,
        DeliverSm,
        DeliverSmResp,
        DataSm,
        DataSmResp,
    )
}


_P = TypeVar("_P", bound=Pdu)
_sequencers: dict[type, Callable[[Any, int], Any]] = {}


def with_sequence_number(pdu: _P, sequence_number: int) -> _P:
    """``dataclasses.replace(pdu, sequence_number=…)``, several times faster (one per PDU a
    session sends; ``columba.slots.replacer``)."""
    sequencer = _sequencers.get(type(pdu))
    if sequencer is None:
        sequencer = _sequencers[type(pdu)] = replacer(type(pdu), "sequence_number")
    copy: _P = sequencer(pdu, sequence_number)
    return copy


def encode_pdu(pdu: Pdu) -> bytes:
    """Write one PDU, header included.

    Raises:
        SmsUsageError: a field does not fit (too long, not Latin-1, out of range).
    """
    if getattr(type(pdu), "command_id", None) is None:
        raise SmsUsageError(f"{type(pdu).__name__} is not a concrete PDU")
    buf = Buffer()
    buf.push_uint32(0)  # command_length, patched below
    buf.push_uint32(pdu.command_id)
    buf.push_uint32(pdu.command_status)
    buf.push_uint32(pdu.sequence_number)
    if not _omits_body(pdu):
        pdu.push_body(buf)
    data = buf.data
    return len(data).to_bytes(4, "big") + data[4:]


def decode_pdu(data: bytes) -> Pdu:
    """Read one whole PDU (``command_length`` must equal ``len(data)``).

    Raises:
        PduError: the PDU is malformed or its command_id is not one the codec reads; the
            error names the command_status to answer with and the sequence_number to echo.
    """
    if len(data) < HEADER_OCTETS:
        raise PduError(
            f"{len(data)} octets cannot hold a PDU header",
            command_status=CommandStatus.ESME_RINVCMDLEN,
        )
    buf = Buffer(data)
    header = pull_header(buf)
    if header.command_length != len(data):
        raise PduError(
            f"command_length {header.command_length} but {len(data)} octets",
            command_status=CommandStatus.ESME_RINVCMDLEN,
            command_id=header.command_id,
            sequence_number=header.sequence_number,
        )
    return decode_body(header, buf)


def decode_body(header: Header, buf: Buffer) -> Pdu:
    """Read the body after ``header`` from ``buf``, which holds exactly this PDU's octets.

    Raises:
        PduError: as :func:`decode_pdu`.
    """
    cls = PDU_CLASSES.get(header.command_id)
    if cls is None:
        raise PduError(
            f"command_id 0x{header.command_id:08X} is not supported",
            command_status=CommandStatus.ESME_RINVCMDID,
            command_id=header.command_id,
            sequence_number=header.sequence_number,
        )
    if buf.eof() and is_response(header.command_id):
        # §4.4.2 and others: an error response may come without its body.
        return cls(sequence_number=header.sequence_number, command_status=header.command_status)
    try:
        pdu = cls.pull_body(buf, header)
        if not buf.eof():
            raise BufferReadError(
                f"{buf.remaining()} octets after the body", CommandStatus.ESME_RINVCMDLEN
            )
    except BufferReadError as exc:
        raise PduError(
            f"{CommandId(header.command_id).name.lower()}: {exc.reason}",
            command_status=exc.command_status,
            command_id=header.command_id,
            sequence_number=header.sequence_number,
        ) from None
    return pdu


def _omits_body(pdu: Pdu) -> bool:
    """An error response with nothing in its body is sent as a bare header."""
    if not is_response(pdu.command_id) or pdu.command_status == CommandStatus.ESME_ROK:
        return False
    bare = type(pdu)(sequence_number=pdu.sequence_number, command_status=pdu.command_status)
    return pdu == bare


def response_to(request: Pdu, *, command_status: int = 0, **fields: Any) -> Pdu:
    """The response PDU class's instance answering ``request`` (same sequence_number).

    Raises:
        SmsUsageError: ``request`` is a response, or has no response PDU.
    """
    cls = PDU_CLASSES.get(request.command_id | RESPONSE_BIT)
    if is_response(request.command_id) or cls is None:
        raise SmsUsageError(f"{type(request).__name__} has no response")
    bare = cls(sequence_number=request.sequence_number, command_status=command_status)
    return replace(bare, **fields) if fields else bare


__all__ = [
    "HEADER_OCTETS",
    "INTERFACE_VERSION",
    "MAX_SHORT_MESSAGE",
    "PDU_CLASSES",
    "RESPONSE_BIT",
    "BindReceiver",
    "BindReceiverResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "CommandId",
    "CommandStatus",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Header",
    "Pdu",
    "SubmitSm",
    "SubmitSmResp",
    "Tlv",
    "TlvTag",
    "Unbind",
    "UnbindResp",
    "decode_body",
    "decode_pdu",
    "encode_pdu",
    "find_tlv",
    "is_response",
    "pull_header",
    "response_to",
    "with_sequence_number",
]
