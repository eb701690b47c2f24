"""Between PDUs and messages: a :class:`Part` into or out of submit_sm / deliver_sm / data_sm,
and a delivery receipt out of a deliver_sm.

These are the only functions that know both the PDU layout (pdu.py) and the message-level
pieces (segment.py, reassembly.py, receipt.py), so either side can change without the other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from columba.sms.errors import PduError
from columba.sms.pdu import CommandStatus, DataSm, DeliverSm, SubmitSm, Tlv, TlvTag, find_tlv
from columba.sms.receipt import DeliveryReceipt, parse_receipt
from columba.sms.segment import Part

#: The PDUs that carry user data.
MessagePdu = SubmitSm | DeliverSm | DataSm
_M = TypeVar("_M", SubmitSm, DeliverSm, DataSm)

# Tags that describe user data, replaced as a whole when a Part is applied.
_USER_DATA_TAGS = frozenset(
    {
        TlvTag.SAR_MSG_REF_NUM,
        TlvTag.SAR_TOTAL_SEGMENTS,
        TlvTag.SAR_SEGMENT_SEQNUM,
        TlvTag.MESSAGE_PAYLOAD,
    }
)


def part_tlvs(part: Part) -> tuple[Tlv, ...]:
    """The SAR and message_payload TLVs a part needs (SMPP 3.4 §5.3.2.22-24, §5.3.2.32)."""
    tlvs: list[Tlv] = []
    if part.sar_msg_ref_num is not None:
        tlvs.append(Tlv.from_int(TlvTag.SAR_MSG_REF_NUM, part.sar_msg_ref_num, 2))
    if part.sar_total_segments is not None:
        tlvs.append(Tlv.from_int(TlvTag.SAR_TOTAL_SEGMENTS, part.sar_total_segments, 1))
    if part.sar_segment_seqnum is not None:
        tlvs.append(Tlv.from_int(TlvTag.SAR_SEGMENT_SEQNUM, part.sar_segment_seqnum, 1))
    if part.message_payload is not None:
        tlvs.append(Tlv(tag=TlvTag.MESSAGE_PAYLOAD, value=part.message_payload))
    return tuple(tlvs)


def with_part(template: _M, part: Part) -> _M:
    """``template`` (addresses, registered_delivery, sequence_number …) carrying ``part``.

    The part's esm_class bits are added to the template's (which may hold a messaging mode);
    user-data TLVs in the template are replaced, others kept. data_sm has no short_message,
    so there the part's octets go in message_payload.
    """
    kept = tuple(tlv for tlv in template.tlvs if tlv.tag not in _USER_DATA_TAGS)
    tlvs = kept + part_tlvs(part)
    esm_class = template.esm_class | part.esm_class
    if isinstance(template, DataSm):
        if part.message_payload is None:
            tlvs += (Tlv(tag=TlvTag.MESSAGE_PAYLOAD, value=part.short_message),)
        return replace(template, esm_class=esm_class, data_coding=part.data_coding, tlvs=tlvs)
    return replace(
        template,
        esm_class=esm_class,
        data_coding=part.data_coding,
        short_message=part.short_message,
        tlvs=tlvs,
    )


def part_of(pdu: MessagePdu) -> Part:
    """The user-data fields of a received PDU, for :class:`~columba.sms.Reassembler`.

    Raises:
        PduError: a SAR TLV has the wrong length (ESME_RINVPARLEN).
    """
    payload = find_tlv(pdu.tlvs, TlvTag.MESSAGE_PAYLOAD)
    return Part(
        data_coding=pdu.data_coding,
        short_message=b"" if isinstance(pdu, DataSm) else pdu.short_message,
        esm_class=pdu.esm_class,
        sar_msg_ref_num=_int_tlv(pdu, TlvTag.SAR_MSG_REF_NUM, 2),
        sar_total_segments=_int_tlv(pdu, TlvTag.SAR_TOTAL_SEGMENTS, 1),
        sar_segment_seqnum=_int_tlv(pdu, TlvTag.SAR_SEGMENT_SEQNUM, 1),
        message_payload=payload.value if payload is not None else None,
    )


def receipt_of(pdu: DeliverSm | DataSm) -> DeliveryReceipt:
    """The delivery receipt a deliver_sm (or data_sm) with a receipt esm_class carries.

    Raises:
        PduError: a receipt TLV has the wrong length (ESME_RINVPARLEN).
        UserDataError: neither the text nor the TLVs look like a receipt.
    """
    message_id = find_tlv(pdu.tlvs, TlvTag.RECEIPTED_MESSAGE_ID)
    network_error = find_tlv(pdu.tlvs, TlvTag.NETWORK_ERROR_CODE)
    if isinstance(pdu, DataSm):
        payload = find_tlv(pdu.tlvs, TlvTag.MESSAGE_PAYLOAD)
        text = payload.value if payload is not None else b""
    else:
        text = pdu.short_message
    return parse_receipt(
        text,
        receipted_message_id=message_id.as_cstring() if message_id is not None else None,
        message_state=_int_tlv(pdu, TlvTag.MESSAGE_STATE, 1),
        network_error_code=network_error.value if network_error is not None else None,
    )


def _int_tlv(pdu: MessagePdu, tag: TlvTag, size: int) -> int | None:
    tlv = find_tlv(pdu.tlvs, tag)
    if tlv is None:
        return None
    if len(tlv.value) != size:
        raise PduError(
            f"{tag.name.lower()} has {len(tlv.value)} octets, not {size}",
            command_status=CommandStatus.ESME_RINVPARLEN,
            command_id=pdu.command_id,
            sequence_number=pdu.sequence_number,
        )
    return tlv.as_int()
