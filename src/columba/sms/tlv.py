"""SMPP 3.4 optional parameters (TLVs, §3.2.4 and §5.3): a tag, a length and a value.

Values are kept as octets so that vendor tags survive untouched; the helpers read and write
the integer and C-octet string forms of the standard tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from columba.slots import builder
from columba.sms.buffer import Buffer, BufferReadError
from columba.sms.codes import CommandStatus
from columba.sms.errors import SmsUsageError


@dataclass(frozen=True, slots=True, kw_only=True)
class Tlv:
    """One optional parameter, its value kept as octets (vendor tags survive untouched)."""

    tag: int
    value: bytes

    @classmethod
    def from_int(cls, tag: int, value: int, size: int) -> Tlv:
        """An integer TLV of ``size`` octets (``sar_msg_ref_num`` is 2, ``message_state`` 1)."""
        try:
            return cls(tag=tag, value=value.to_bytes(size, "big"))
        except OverflowError:
            raise SmsUsageError(f"TLV 0x{tag:04X} value {value} does not fit {size}") from None

    @classmethod
    def from_cstring(cls, tag: int, value: str) -> Tlv:
        """A C-octet string TLV (``receipted_message_id``).

        Raises:
            SmsUsageError: ``value`` is not Latin-1 text.
        """
        try:
            return cls(tag=tag, value=value.encode("latin-1") + b"\x00")
        except UnicodeEncodeError:
            raise SmsUsageError(f"TLV 0x{tag:04X} value {value!r} is not Latin-1") from None

    def as_int(self) -> int:
        """The value as a big-endian unsigned integer."""
        return int.from_bytes(self.value, "big")

    def as_cstring(self) -> str:
        """The value as text, with or without its NUL (SMSCs differ)."""
        return self.value.split(b"\x00", 1)[0].decode("latin-1")


def find_tlv(tlvs: tuple[Tlv, ...], tag: int) -> Tlv | None:
    """The first TLV with ``tag``, or None."""
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv
    return None


def push_tlvs(buf: Buffer, tlvs: tuple[Tlv, ...]) -> None:
    """Write TLVs in order: tag (2), length (2), value."""
    for tlv in tlvs:
        if len(tlv.value) > 0xFFFF:
            raise SmsUsageError(f"TLV 0x{tlv.tag:04X} value longer than 65535 octets")
        buf.push_uint16(tlv.tag)
        buf.push_uint16(len(tlv.value))
        buf.push_bytes(tlv.value)


def pull_tlvs(buf: Buffer) -> tuple[Tlv, ...]:
    """Read TLVs up to the end of the PDU."""
    tlvs: list[Tlv] = []
    while not buf.eof():
        if buf.remaining() < 4:
            raise BufferReadError("truncated TLV header", CommandStatus.ESME_RINVOPTPARSTREAM)
        tag = buf.pull_uint16()
        length = buf.pull_uint16()
        if length > buf.remaining():
            raise BufferReadError(
                f"TLV 0x{tag:04X} runs past the PDU", CommandStatus.ESME_RINVOPTPARSTREAM
            )
        tlvs.append(_new_tlv(tag, buf.pull_bytes(length)))
    return tuple(tlvs)


#: ``Tlv(tag=…, value=…)`` positionally, without the keyword machinery (``columba.slots``).
_new_tlv = builder(Tlv)
