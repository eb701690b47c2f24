"""Every code and string table of the MCP wire format (``docs/protocol/mcp.md`` lists them).

The tables are part of the wire format: a code is an index into one of these tuples, so an
entry may be appended in a new MCP version but never moved or removed. Index 0 of the
name-like tables means "literal follows". Each string comes from the protocols themselves —
RFC 3261 and its extensions (methods, header names, reason phrases, parameters, option tags,
media types), RFC 3863/4479/4480/5196 (PIDF), RFC 3862/5438 (CPIM, IMDN) and the SIP-C
catalogue (``shared/reference/fetion-sipc.md``: method letters, header letters, ``N:`` event
names, ``K:`` values, the XML element and attribute names of ``<args>``, ``<results>`` and
``<events>``). Nothing here names a deployment: a deployment's own domains are configured
(:data:`BUILTIN_DOMAINS` plus ``McpOptions.domains``) and, on a connection, negotiated.
"""

from __future__ import annotations

from enum import IntEnum

#: The MCP version this module speaks (the first byte after the handshake magic).
MCP_VERSION = 2
#: The first bytes of a handshake frame.
MAGIC = b"MCP"


class Mode(IntEnum):
    """How a connection encodes its messages (negotiated by the handshake)."""

    STATELESS = 0
    STATEFUL = 1


class Head(IntEnum):
    """Bits of a message's first byte; the rest carry :class:`VersionCode` and :class:`BodyKind`."""

    RESPONSE = 0x80
    LF = 0x40
    UNTERMINATED = 0x20
    VERSION_SHIFT = 3
    VERSION_MASK = 0x18
    BODY_MASK = 0x07


class VersionCode(IntEnum):
    """The protocol version of the start line (bits 3–4 of the first byte)."""

    LITERAL = 0
    SIP_2_0 = 1
    SIPC_4_0 = 2
    SIPC_2_0 = 3


VERSIONS: tuple[str, ...] = ("", "SIP/2.0", "SIP-C/4.0", "SIP-C/2.0")


class BodyKind(IntEnum):
    """How the body is carried (bits 0–2 of the first byte)."""

    EMPTY = 0
    RAW = 1
    TEXT = 2
    XML = 3


class Reason(IntEnum):
    """The first varint of a response's reason phrase; 2 and above index :data:`REASONS`."""

    LITERAL = 0
    DEFAULT = 1
    TABLE = 2


class HeaderForm(IntEnum):
    """The top bits of a header's first byte (an RFC 7541-style representation)."""

    INDEXED = 0x80  # 1iiiiiii: a whole field from the dynamic table
    LITERAL_INDEXED = 0x40  # 01nnnnnn: a literal field, then inserted in the dynamic table
    LITERAL = 0x00  # 00nnnnnn: a literal field, not inserted


class ExtFlag(IntEnum):
    """The flags byte of an extended header (name index 0 in the first byte)."""

    NAME_STATIC = 0
    NAME_DYNAMIC = 1
    NAME_LITERAL = 2
    NAME_MASK = 0x03
    LITERAL_SEP = 0x04
    TEXT_VALUE = 0x08
    RESERVED = 0xF0


class Codec(IntEnum):
    """How a header value is written when it has its canonical shape."""

    TEXT = 0  # generic text items (always possible)
    LENGTH = 1  # nothing: the decimal length of the body
    UINT = 2  # varint of a plain decimal
    SINT = 3  # zigzag varint of a plain signed decimal (SIP-C negative Call-IDs)
    CSEQ = 4  # varint number, then a method code
    HEX = 5  # varint (bytes << 1 | upper-case), then the bytes
    DATE = 6  # varint seconds since 1970 of an RFC 1123 GMT date
    WORD = 7  # varint index into WORDS


class Op(IntEnum):
    """Item codes of a text value (header values, URIs, reasons, text and XML bodies)."""

    END = 0x00
    LITERAL_SHORT_MAX = 0x2F  # 0x01–0x2F: that many literal bytes follow
    SELF = 0x30  # 0x30–0x3F: the one character "0123456789:;<=>?" with that ASCII code
    SELF_MAX = 0x3F
    LITERAL = 0x40  # varint length, bytes
    INT = 0x41  # varint; a decimal without leading zeros
    HEX_UPPER = 0x42  # varint n, n bytes: 2n upper-case hex digits
    HEX_LOWER = 0x43  # the same, lower case
    BASE64 = 0x44  # varint n, n bytes: standard base64 with its padding
    IPV4 = 0x45  # 4 bytes: a dotted quad
    WORD = 0x46  # varint index into WORDS
    IPV6 = 0x47  # 16 bytes: RFC 5952 text form
    UUID_LOWER = 0x48  # 16 bytes: 8-4-4-4-12 lower-case hex
    UUID_UPPER = 0x49  # the same, upper case
    UTF16 = 0x4A  # varint n, 2n bytes: UTF-16-BE text (CJK costs 2 bytes a character, not 3)
    TIMESTAMP = 0x4B  # an RFC 3339 date-time, see forms.timestamp_token
    NEWLINE = 0x4C  # varint n: "\n" followed by n spaces
    REF = 0x4D  # varint i: the i-th newest run already sent (refs.py)
    # XML items (body kind XML only) ----------------------------------------------------------
    CLOSE = 0x50  # "</" + the innermost open element + ">"
    GT = 0x51  # ">"
    SLASH_GT = 0x52  # "/>", closes the innermost element
    SP_SLASH_GT = 0x53  # " />", closes it too
    QUOTE = 0x54  # '"'
    QUOTE_GT = 0x55  # '">'
    QUOTE_SLASH_GT = 0x56  # '"/>', closes the innermost element
    QUOTE_SP_SLASH_GT = 0x57  # '" />', closes it too
    OPEN_LITERAL = 0x58  # string: "<" + name, opens an element
    ATTR_LITERAL = 0x59  # string: " " + name + '="' (inside an attribute value, '"' first)
    OPEN = 0x5A  # varint index into XML_TAGS
    ATTR = 0x5B  # varint index into XML_ATTRS (inside an attribute value, '"' first)
    # 0x60–0x6F: "@" + DOMAINS[op − 0x60]; 0x70–0x7F: DOMAINS[op − 0x70]
    AT_DOMAIN = 0x60
    DOMAIN = 0x70
    # text: 0x80–0xFF WORDS[op − 0x80]; XML: 0x80–0xBF open XML_TAGS[op − 0x80],
    # 0xC0–0xFF attribute XML_ATTRS[op − 0xC0] (like Op.ATTR, closing an open value first)
    SHORT = 0x80
    XML_ATTR_SHORT = 0xC0


#: Methods of both spellings (RFC 3261 §27.4 registry, SIP-C letters from fetion-sipc.md §1.3).
METHODS: tuple[str, ...] = (
    "",
    "REGISTER",
    "INVITE",
    "ACK",
    "CANCEL",
    "BYE",
    "OPTIONS",
    "MESSAGE",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "UPDATE",
    "PRACK",
    "SERVICE",
    "BENOTIFY",
    "NEGOTIATE",
    "R",
    "S",
    "SUB",
    "BN",
    "N",
    "M",
    "I",
    "A",
    "O",
    "IN",
    "B",
    "C",
    "NEG",
    "NB",
)

#: The reason phrase a status code gets unless it says otherwise (RFC 3261 §21 and the IANA
#: "Response Codes" registry; SIP-C's 280 and 201 from fetion-sipc.md §1.2 and §1.6).
DEFAULT_REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    201: "Successful",
    202: "Accepted",
    204: "No Notification",
    280: "Send SMS OK",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}

#: Other reason phrases seen on the wire, whatever their status (SIP-C's misspelt 401, the
#: 500 of SIP-C/4.0 servers, RFC 2543-era spellings); code ``Reason.TABLE + index``.
REASONS: tuple[str, ...] = (
    "Unauthoried",
    "RegisterFailed",
    "",
    "Server Timeout",
    "Internal Server Error",
    "Ok",
    "Unauthorised",
)

#: Header names exactly as spelled on the wire; the code is the index (0 = literal name).
#: SIP-C letters first (fetion-sipc.md §1.4), then RFC 3261 names in their usual spelling, then
#: the compact forms (RFC 3261 §7.3.3) and the rest of the IANA "Header Fields" registry.
HEADER_NAMES: tuple[str, ...] = (
    "",
    "F",
    "T",
    "I",
    "Q",
    "L",
    "N",
    "C",
    "K",
    "A",
    "W",
    "X",
    "D",
    "XI",
    "CN",
    "CL",
    "AK",
    "SV",
    "SO",
    "AL",
    "RQ",
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Event",
    "Allow",
    "Supported",
    "User-Agent",
    "Server",
    "Route",
    "Record-Route",
    "Authorization",
    "Proxy-Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Accept",
    "Accept-Contact",
    "Allow-Events",
    "Subscription-State",
    "Require",
    "Proxy-Require",
    "Date",
    "SIP-ETag",
    "SIP-If-Match",
    "Min-Expires",
    "Authentication-Info",
    "Content-Disposition",
    "Content-Encoding",
    "Accept-Encoding",
    "Accept-Language",
    "Path",
    "Service-Route",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Unsupported",
    "Warning",
    "Timestamp",
    "Subject",
    "Organization",
    "Priority",
    "Refer-To",
    "Referred-By",
    "Reason",
    "Call-Info",
    "Alert-Info",
    "Error-Info",
    "In-Reply-To",
    "MIME-Version",
    "Reply-To",
    "Retry-After",
    "Session-Expires",
    "Min-SE",
    "RAck",
    "RSeq",
    "Privacy",
    "Identity",
    "Identity-Info",
    "Reject-Contact",
    "Request-Disposition",
    "Content-Language",
    "Call-Id",
    "Cseq",
    "Max-forwards",
    "Content-length",
    "Content-type",
    "User-agent",
    "Www-Authenticate",
    "P-Access-Network-Info",
    "P-Charging-Vector",
    "P-Called-Party-ID",
    "P-Associated-URI",
    "Security-Client",
    "Security-Server",
    "Security-Verify",
    "Max-Breadth",
    "Recv-Info",
    "Info-Package",
    "Feature-Caps",
    "Flow-Timer",
    "X-Message-ID",
    "v",
    "f",
    "t",
    "i",
    "m",
    "l",
    "c",
    "k",
    "e",
    "s",
    "o",
    "u",
    "r",
    "b",
    "x",
    "a",
    "j",
    "d",
    "n",
    "y",
)

#: Canonical header names (as ``columba.protocol.sip.headers.canonical_name`` gives them) whose
#: values are secrets or derived from secrets. They are never inserted in a dynamic table (the
#: CRIME lesson, RFC 7541 §7.1.3): whole-field indexing would let a prober confirm a guess.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "www-authenticate",
        "proxy-authenticate",
        "authentication-info",
        "x-client-nonce",
        "x-auth-key",
        "security-client",
        "security-server",
        "security-verify",
        "identity",
        "cookie",
        "set-cookie",
    }
)
#: Any other name containing one of these is treated as sensitive as well.
SENSITIVE_NAME_PARTS = ("auth", "nonce", "cookie", "token", "secret", "password", "credential")

#: Typed codecs by canonical header name (both dialects).
CODECS: dict[str, Codec] = {
    "content-length": Codec.LENGTH,
    "cseq": Codec.CSEQ,
    "max-forwards": Codec.UINT,
    "expires": Codec.UINT,
    "min-expires": Codec.UINT,
    "rseq": Codec.UINT,
    "x-service": Codec.UINT,
    "date": Codec.DATE,
    "x-message-id": Codec.HEX,
    "x-client-nonce": Codec.HEX,
    "event": Codec.WORD,
    "content-type": Codec.WORD,
    "accept": Codec.WORD,
    "x-alert": Codec.WORD,
    "x-request-kind": Codec.WORD,
    "subscription-state": Codec.WORD,
}
#: Overrides for SIP-C, where a Call-ID is a signed decimal and ``K`` carries one word.
SIPC_CODECS: dict[str, Codec] = {**CODECS, "call-id": Codec.SINT, "supported": Codec.WORD}

#: The domains every MCP peer knows (the SIP-C service and credential domains, fetion-sipc.md
#: §2.3); configured deployment domains follow them, up to :data:`MAX_DOMAINS` in all.
BUILTIN_DOMAINS: tuple[str, ...] = (
    "fetion.com.cn",
    "m161.com.cn",
    "www.ikuwa.cn",
    "games.fetion.com.cn",
)
MAX_DOMAINS = 16

#: The text dictionary. The first 128 entries have one-byte codes in header values and text
#: bodies (``0x80 + index``); every entry has the code ``Op.WORD`` + varint index.
WORDS: tuple[str, ...] = (
    # URI and address pieces (RFC 3261 §19.1, §20.10, §20.20, §20.39, §20.42)
    "sip:",
    "<sip:",
    ">",
    ";tag=",
    ">;tag=",
    "tel:",
    ";p=",
    "SIP/2.0/TCP ",
    "SIP/2.0/UDP ",
    ";branch=z9hG4bK",
    ";rport",
    ";received=",
    ";rport=",
    ";transport=tcp",
    ";transport=udp",
    ";lr>",
    ";lr",
    ";expires=",
    '" <sip:',
    ", ",
    ",",
    '",',
    '="',
    '"',
    "sips:",
    "<sips:",
    ";user=phone",
    ";transport=tls",
    ";transport=ws",
    "SIP/2.0/TLS ",
    "SIP/2.0/WS ",
    ";ob",
    ";reg-id=",
    ';+sip.instance="<urn:uuid:',
    '>"',
    "urn:uuid:",
    ";q=",
    ";maddr=",
    "sip:PG",
    "*;+g.oma.sip-im",
    # Digest and the SIP-C authentication schemes (RFC 2617, RFC 3261 §22, fetion-sipc.md §2)
    "Digest ",
    'username="',
    'realm="',
    'nonce="',
    'uri="',
    'response="',
    'cnonce="',
    'opaque="',
    "algorithm=MD5",
    "qop=auth",
    'qop="auth"',
    "nc=",
    "algorithm=",
    'algorithm="SHA1-sess-v4"',
    'Digest response="',
    "ak-value",
    'type="pc" ,version="',
    # Methods (Allow, CSeq in bodies)
    "INVITE",
    "ACK",
    "CANCEL",
    "BYE",
    "OPTIONS",
    "MESSAGE",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "UPDATE",
    "REGISTER",
    "PRACK",
    # SIP-C N: events, K: values and body words (fetion-sipc.md §1.4, §1.7, §3)
    "CatMsg",
    "SendCatSMS",
    "PresenceV4",
    "KeepAlive",
    "contact",
    "registration",
    "PGGroup",
    "Conversation",
    "SaveHistory",
    "text/plain",
    "text/html-fragment",
    "multiparty",
    "nudge",
    "v4default",
    "CMCC",
    "PresenceChanged",
    "<Font Face='",
    "' Color='",
    "' Size='",
    "'>",
    "</Font>",
    # SIP events, media types and option tags (IANA registries)
    "presence",
    "message/cpim",
    "application/pidf+xml",
    "application/sdp",
    "application/im-iscomposing+xml",
    "message/imdn+xml",
    "text/plain;charset=UTF-8",
    "path",
    "outbound",
    "gruu",
    "100rel",
    "timer",
    "replaces",
    "active",
    "pending",
    "terminated",
    # CPIM / IMDN (RFC 3862, RFC 5438) and XML bodies
    "\r\n",
    "\r\n\r\n",
    "From: <sip:",
    "To: <sip:",
    "DateTime: ",
    "NS: imdn <urn:ietf:params:imdn>",
    "imdn.Message-ID: ",
    "imdn.Disposition-Notification: ",
    "positive-delivery",
    "display",
    "Content-Type: ",
    "Content-Length: ",
    "Content-Disposition: notification",
    '<?xml version="1.0" encoding="UTF-8"?>',
    "urn:ietf:params:xml:ns:pidf",
    "open",
    "closed",
    "true",
    "false",
    "idle",
    # Two-byte codes from here on (index 128)
    "negative-delivery",
    "urn:ietf:params:imdn",
    '<?xml version="1.0"?>',
    "urn:ietf:params:xml:ns:pidf:data-model",
    "urn:ietf:params:xml:ns:pidf:rpid",
    "urn:ietf:params:xml:ns:pidf:caps",
    "urn:ietf:params:xml:ns:pidf:cipid",
    "urn:ietf:params:xml:ns:im-iscomposing",
    "urn:ietf:params:xml:ns:imdn",
    "urn:ietf:params:xml:ns:watcherinfo",
    "urn:ietf:params:xml:ns:reginfo",
    "message-summary",
    "reg",
    "dialog",
    "refer",
    "SIP/2.0/WSS ",
    ";ttl=",
    ";gr",
    # More SIP-C events and values (fetion-sipc.md §3)
    "PGPresence",
    "SyncUserInfoV4",
    "SystemNotifyV4",
    "buddy",
    "KeepConnectionBusy",
    "GetContactInfoV4",
    "SetPresenceV4",
    "AddBuddyV4",
    "StartChat",
    "InviteBuddy",
    "SendDirectCatSMS",
    "PGSendCatSMS",
    "SSSetScheduleCatSms",
    "SSGetScheduleSmsList",
    "SSDeleteScheduleSms",
    "HandleContactRequestV4",
    "DeleteBuddyV4",
    "SetContactInfoV4",
    "SetUserInfoV4",
    "GetPersonalInfo",
    "GetAddressListV4",
    "GetScore",
    "CreateBuddyList",
    "DeleteBuddyList",
    "SetBuddyListInfo",
    "AddToBlacklist",
    "RemoveFromBlacklistV4",
    "PGGetGroupList",
    "PGGetGroupInfo",
    "PGGetGroupMembers",
    "PGGetPersonalInfo",
    "PGSetPresence",
    "PGGetGroupTopic",
    "DirectSMS",
    "OperationNotify",
    "permission",
    "compact",
    "compactlist",
    "system-message",
    "SendSMS",
    "AddBuddy",
    "AddMobileBuddy",
    "HandleContactRequest",
    "SetPresence",
    "GetContactsInfo",
    "GetContactList",
    "GetOfflineMessages",
    "share-background",
    "fetion-show",
    "SyncUserInfo",
    "AddBuddyApplication",
    "UserEntered",
    "UserLeft",
    "UserFailed",
    "deregistered",
    "disconnect",
    "MobileMailBoxChanged",
    "ServiceResult",
    "SubscribeResult",
    "GeneralPic",
    "picc-ChangeMachine",
    "-16777216",
    "宋体",
    # More authentication pieces
    "Verify ",
    'Verify response="',
    'TICKS auth="',
    'CS address="',
    'credential="',
    'key="',
    'signature="',
    'type="GeneralPic"',
    'chid="',
    'salt="',
    'ssic="',
    'algorithm="picc-ChangeMachine"',
    'algorithm="MD5-sess;SHA1-sess"',
    'algorithm="SHA1-sess"',
    "algorithm=MD5-sess",
    "algorithm=SHA-256",
    'qop="auth,auth-int"',
    "stale=FALSE",
    "stale=TRUE",
    'domain="',
    'rspauth="',
    'nextnonce="',
    "auth-int",
    # More media types, events, option tags, parameters
    "text/html",
    "application/xpidf+xml",
    "application/simple-message-summary",
    "application/rlmi+xml",
    "application/watcherinfo+xml",
    "application/reginfo+xml",
    "application/dialog-info+xml",
    "multipart/mixed",
    "multipart/related",
    "multipart/alternative",
    "message/sipfrag",
    "application/xml",
    ";boundary=",
    ";charset=UTF-8",
    ";charset=utf-8",
    "presence.winfo",
    "conference",
    "ua-profile",
    "xcap-diff",
    "norefersub",
    "eventlist",
    "tdialog",
    "sec-agree",
    "precondition",
    "from-change",
    "histinfo",
    "timeout",
    "noresource",
    "deactivated",
    "rejected",
    ";reason=",
    ";retry-after=",
    ";method=",
    ";pub-gruu=",
    ";temp-gruu=",
    ";+g.oma.sip-im",
    ";transport=wss",
    ";transport=TCP",
    ";transport=UDP",
    "SIP/2.0/SCTP ",
    "<tel:",
    "<urn:uuid:",
    "Anonymous",
    "anonymous",
    "unknown",
    # SDP (RFC 4566) and the SIP-C session stub (fetion-sipc.md §1.7)
    "v=0\r\n",
    "o=",
    " IN IP4 ",
    "c=IN IP4 ",
    "s=session\r\nm=message ",
    "t=0 0\r\n",
    "m=message ",
    "m=audio ",
    " RTP/AVP ",
    "a=rtpmap:",
    "a=sendrecv",
)


#: XML element names (SIP-C catalogue and PIDF/RPID/caps/IMDN/is-composing); the first 64 have
#: one-byte codes (``0x80 + index``) in XML bodies, all have ``Op.OPEN`` + varint index.
XML_TAGS: tuple[str, ...] = (
    "args",
    "results",
    "events",
    "event",
    "c",
    "p",
    "pr",
    "b",
    "contacts",
    "contact",
    "buddies",
    "buddy",
    "presence",
    "basic",
    "user-info",
    "personal",
    "credentials",
    "credential",
    "member",
    "group",
    "groups",
    "device",
    "caps",
    "custom-config",
    "contact-list",
    "buddy-lists",
    "buddy-list",
    "chat-friends",
    "blacklist",
    "k",
    "client",
    "score",
    "services",
    "quotas",
    "quota-limit",
    "limit",
    "quota-frequency",
    "frequency",
    "reason",
    "application",
    "mail",
    "schedule-sms",
    "message",
    "receivers",
    "receiver",
    "subscription",
    "management",
    "oem-tag",
    "is-composing",
    "state",
    "tuple",
    "status",
    "note",
    "timestamp",
    "dm:person",
    "dm:device",
    "dm:note",
    "dm:deviceID",
    "rpid:activities",
    "caps:servcaps",
    "caps:message",
    "rpid:busy",
    "Font",
    "isComposing",
    # Two-byte codes from here on
    "rpid:away",
    "userinfo",
    "group-list",
    "verification",
    "pic-certificate",
    "capability-list",
    "share-content",
    "permissions",
    "permission",
    "service",
    "user",
    "person",
    "deviceID",
    "activities",
    "busy",
    "away",
    "servcaps",
    "rpid:on-the-phone",
    "rpid:meeting",
    "rpid:mood",
    "rpid:place-type",
    "caps:audio",
    "caps:video",
    "caps:text",
    "lastactive",
    "refresh",
    "contenttype",
    "imdn",
    "message-id",
    "datetime",
    "recipient-uri",
    "original-recipient-uri",
    "delivery-notification",
    "display-notification",
    "delivered",
    "displayed",
    "watcherinfo",
    "watcher-list",
    "watcher",
    "reginfo",
    "registration",
)

#: XML attribute names; the first 64 have one-byte codes (``0xC0 + index``), all have
#: ``Op.ATTR`` + varint index. An attribute item writes ``" " + name + '="'``.
XML_ATTRS: tuple[str, ...] = (
    "type",
    "value",
    "uri",
    "version",
    "user-id",
    "id",
    "desc",
    "name",
    "mobile-no",
    "sid",
    "i",
    "u",
    "n",
    "l",
    "f",
    "r",
    "o",
    "p",
    "v",
    "su",
    "m",
    "c",
    "cs",
    "s",
    "svc",
    "sms",
    "sp",
    "sh",
    "di",
    "b",
    "d",
    "dt",
    "dc",
    "domain",
    "domains",
    "attributes",
    "buddy-attributes",
    "buddy-lists",
    "relation-status",
    "nickname",
    "carrier",
    "carrier-status",
    "basic-service-status",
    "addbuddy-phrase-id",
    "state",
    "client-type",
    "status-code",
    "action",
    "kernel",
    "machine-code",
    "accept-language",
    "day-limit",
    "day-count",
    "month-limit",
    "month-count",
    "xmlns",
    "entity",
    "priority",
    "xmlns:dm",
    "xmlns:rpid",
    "xmlns:caps",
    "time",
    "text",
    "tips",
    # Two-byte codes from here on
    "public-ip",
    "login-place",
    "last-login-ip",
    "last-login-place",
    "last-login-time",
    "register-email",
    "gender",
    "impresa",
    "portrait-crc",
    "birth-date",
    "birthday-valid",
    "carrier-region",
    "sms-online-status",
    "save-xeno-msg",
    "level",
    "level-score",
    "unread-count",
    "local-name",
    "online-notify",
    "expose-mobile-no",
    "expose-name",
    "permission-values",
    "send-time",
    "client-version",
    "self",
    "buddy",
    "result",
    "algorithm",
    "pic",
    "xmlns:cipid",
    "xml:lang",
    "xmlns:xsi",
    "xsi:schemaLocation",
)
