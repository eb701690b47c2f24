"""SMS at the protocol level: GSM 7-bit and UCS-2, long-message splitting and reassembly,
delivery receipts, and an SMPP 3.4 PDU codec with a stream framer.

Everything here is sans-I/O and imports only the standard library and
``columba.protocol.errors``; the SMPP binds and the SMSC simulator use it from the edge.

Modules, bottom up::

    errors      the SmsError tree (peer broke it / we misused it)
    gsm7        GSM 03.38 default alphabet + extension table, septet counts, 7-bit packing
    ucs2        UTF-16BE for data_coding 8, surrogate-pair aware
    encoding    DataCoding and text codecs by data_coding
    udh         User Data Header and its concatenation elements
    segment     split_message -> Part (UDH, SAR or message_payload)
    reassembly  Reassembler: MO parts in any order -> Completed / Expired
    receipt     DeliveryReceipt from Appendix B text and TLVs
    codes       SMPP command ids, command statuses, TLV tags
    buffer      pull_*/push_* buffer for SMPP field types
    tlv         optional parameters and their pull/push
    pdu         SMPP 3.4 PDUs and encode_pdu / decode_pdu
    framing     PduFramer for a TCP stream
    userdata    Part <-> submit_sm / deliver_sm / data_sm, receipts out of deliver_sm
"""

from __future__ import annotations

from columba.sms.encoding import DataCoding, choose_coding, decode_text, encode_text
from columba.sms.errors import (
    FramingError,
    PduError,
    SmsError,
    SmsPeerError,
    SmsUsageError,
    UserDataError,
)
from columba.sms.framing import BadPdu, PduFramer
from columba.sms.gsm7 import (
    can_encode_gsm7,
    count_septets,
    decode_gsm7,
    decode_gsm7_packed,
    encode_gsm7,
    encode_gsm7_packed,
    pack_septets,
    unpack_septets,
)
from columba.sms.pdu import (
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
    response_to,
)
from columba.sms.reassembly import (
    Completed,
    Duplicate,
    Expired,
    Reassembler,
    ReassemblyLimits,
    Waiting,
)
from columba.sms.receipt import (
    DeliveryReceipt,
    MessageState,
    format_receipt,
    is_delivery_receipt,
    parse_receipt,
    same_message_id,
)
from columba.sms.segment import Part, count_parts, split_message
from columba.sms.ucs2 import decode_ucs2, encode_ucs2
from columba.sms.userdata import part_of, receipt_of, with_part

__all__ = [
    "BadPdu",
    "BindReceiver",
    "BindReceiverResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "CommandId",
    "CommandStatus",
    "Completed",
    "DataCoding",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "DeliveryReceipt",
    "Duplicate",
    "EnquireLink",
    "EnquireLinkResp",
    "Expired",
    "FramingError",
    "GenericNack",
    "MessageState",
    "Part",
    "Pdu",
    "PduError",
    "PduFramer",
    "Reassembler",
    "ReassemblyLimits",
    "SmsError",
    "SmsPeerError",
    "SmsUsageError",
    "SubmitSm",
    "SubmitSmResp",
    "Tlv",
    "TlvTag",
    "Unbind",
    "UnbindResp",
    "UserDataError",
    "Waiting",
    "can_encode_gsm7",
    "choose_coding",
    "count_parts",
    "count_septets",
    "decode_gsm7",
    "decode_gsm7_packed",
    "decode_pdu",
    "decode_text",
    "decode_ucs2",
    "encode_gsm7",
    "encode_gsm7_packed",
    "encode_pdu",
    "encode_text",
    "encode_ucs2",
    "find_tlv",
    "format_receipt",
    "is_delivery_receipt",
    "pack_septets",
    "parse_receipt",
    "part_of",
    "receipt_of",
    "response_to",
    "same_message_id",
    "split_message",
    "unpack_septets",
    "with_part",
]
