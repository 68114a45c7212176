"""Every message of RFC 4253, 4252, 4254 (and 4256, 4419, 5656, 8308) plus OpenSSH extensions.

Message numbers 30-49 (key exchange) and 60-79 (user authentication) are reused by different
methods, so their classes live in per-context tables (``KEX_TABLES``, ``AUTH_TABLES``); every
other number has one meaning and is in ``GENERIC_TABLE``. :func:`decode_message` takes the
context the connection is in.
"""

from __future__ import annotations

from harness.ssh.errors import DecodeError
from harness.ssh.wire.fields import (
    BOOL,
    COOKIE,
    DISCRIMINATOR,
    MPINT,
    NAMES,
    REST,
    STRING,
    TEXT,
    U32,
    Counted,
    If,
)
from harness.ssh.wire.message import Message, UnknownMessage, define, subtype

# --- transport layer generic (1-19), RFC 4253 / RFC 8308 -------------------------------------

Disconnect = define(1, "DISCONNECT", (("reason", U32), ("description", TEXT), ("language", TEXT)))
Ignore = define(2, "IGNORE", (("data", STRING),))
Unimplemented = define(3, "UNIMPLEMENTED", (("seq", U32),))
Debug = define(4, "DEBUG", (("always_display", BOOL), ("message", TEXT), ("language", TEXT)))
ServiceRequest = define(5, "SERVICE_REQUEST", (("service", TEXT),))
ServiceAccept = define(6, "SERVICE_ACCEPT", (("service", TEXT),))
ExtInfo = define(7, "EXT_INFO", (("extensions", Counted((("name", TEXT), ("value", STRING)), 8)),))

# --- algorithm negotiation (20-29) -----------------------------------------------------------

KexInit = define(
    20,
    "KEXINIT",
    (
        ("cookie", COOKIE),
        ("kex_algorithms", NAMES),
        ("server_host_key_algorithms", NAMES),
        ("encryption_client_to_server", NAMES),
        ("encryption_server_to_client", NAMES),
        ("mac_client_to_server", NAMES),
        ("mac_server_to_client", NAMES),
        ("compression_client_to_server", NAMES),
        ("compression_server_to_client", NAMES),
        ("languages_client_to_server", NAMES),
        ("languages_server_to_client", NAMES),
        ("first_kex_packet_follows", BOOL),
        ("reserved", U32),
    ),
)
NewKeys = define(21, "NEWKEYS", ())

# --- key exchange method specific (30-49) ----------------------------------------------------

KexdhInit = define(30, "KEXDH_INIT", (("e", MPINT),))
KexdhReply = define(31, "KEXDH_REPLY", (("host_key", STRING), ("f", MPINT), ("signature", STRING)))
# ECDH (RFC 5656), curve25519 (RFC 8731) and the hybrid PQ methods share this layout.
KexEcdhInit = define(30, "KEX_ECDH_INIT", (("client_public", STRING),))
KexEcdhReply = define(
    31, "KEX_ECDH_REPLY", (("host_key", STRING), ("server_public", STRING), ("signature", STRING))
)
KexGexRequestOld = define(30, "KEX_DH_GEX_REQUEST_OLD", (("n", U32),))
KexGexGroup = define(31, "KEX_DH_GEX_GROUP", (("p", MPINT), ("g", MPINT)))
KexGexInit = define(32, "KEX_DH_GEX_INIT", (("e", MPINT),))
KexGexReply = define(33, "KEX_DH_GEX_REPLY", (("host_key", STRING), ("f", MPINT), ("signature", STRING)))
KexGexRequest = define(34, "KEX_DH_GEX_REQUEST", (("min", U32), ("n", U32), ("max", U32)))

# --- user authentication generic (50-59), RFC 4252 -------------------------------------------

UserauthRequest = define(
    50,
    "USERAUTH_REQUEST",
    (("user", TEXT), ("service", TEXT), ("method", DISCRIMINATOR), ("method_data", REST)),
)
UserauthRequest.DISCRIMINATED_BY = "method"
UserauthRequestNone = subtype(
    UserauthRequest, "none", "UserauthRequestNone", (("user", TEXT), ("service", TEXT), ("method", DISCRIMINATOR))
)
UserauthRequestPassword = subtype(
    UserauthRequest,
    "password",
    "UserauthRequestPassword",
    (
        ("user", TEXT),
        ("service", TEXT),
        ("method", DISCRIMINATOR),
        ("change", BOOL),
        ("password", TEXT),
        ("new_password", If("change", TEXT)),
    ),
)
UserauthRequestPublickey = subtype(
    UserauthRequest,
    "publickey",
    "UserauthRequestPublickey",
    (
        ("user", TEXT),
        ("service", TEXT),
        ("method", DISCRIMINATOR),
        ("has_signature", BOOL),
        ("algorithm", TEXT),
        ("key_blob", STRING),
        ("signature", If("has_signature", STRING)),
    ),
)
UserauthRequestKeyboardInteractive = subtype(
    UserauthRequest,
    "keyboard-interactive",
    "UserauthRequestKeyboardInteractive",
    (("user", TEXT), ("service", TEXT), ("method", DISCRIMINATOR), ("language", TEXT), ("submethods", TEXT)),
)
UserauthRequestHostbased = subtype(
    UserauthRequest,
    "hostbased",
    "UserauthRequestHostbased",
    (
        ("user", TEXT),
        ("service", TEXT),
        ("method", DISCRIMINATOR),
        ("algorithm", TEXT),
        ("key_blob", STRING),
        ("client_host", TEXT),
        ("client_user", TEXT),
        ("signature", STRING),
    ),
)
UserauthFailure = define(51, "USERAUTH_FAILURE", (("methods", NAMES), ("partial_success", BOOL)))
UserauthSuccess = define(52, "USERAUTH_SUCCESS", ())
UserauthBanner = define(53, "USERAUTH_BANNER", (("message", TEXT), ("language", TEXT)))

# --- user authentication method specific (60-79) ---------------------------------------------

UserauthPkOk = define(60, "USERAUTH_PK_OK", (("algorithm", TEXT), ("key_blob", STRING)))
UserauthPasswdChangereq = define(60, "USERAUTH_PASSWD_CHANGEREQ", (("prompt", TEXT), ("language", TEXT)))
UserauthInfoRequest = define(
    60,
    "USERAUTH_INFO_REQUEST",
    (
        ("name", TEXT),
        ("instruction", TEXT),
        ("language", TEXT),
        ("prompts", Counted((("prompt", TEXT), ("echo", BOOL)), 5)),
    ),
)
UserauthInfoResponse = define(61, "USERAUTH_INFO_RESPONSE", (("responses", Counted((("response", TEXT),), 4)),))

# --- connection protocol generic (80-89), RFC 4254 -------------------------------------------

GlobalRequest = define(
    80, "GLOBAL_REQUEST", (("request_name", DISCRIMINATOR), ("want_reply", BOOL), ("data", REST))
)
GlobalRequest.DISCRIMINATED_BY = "request_name"
GlobalRequestTcpipForward = subtype(
    GlobalRequest,
    "tcpip-forward",
    "GlobalRequestTcpipForward",
    (("request_name", DISCRIMINATOR), ("want_reply", BOOL), ("address", TEXT), ("port", U32)),
)
GlobalRequestCancelTcpipForward = subtype(
    GlobalRequest,
    "cancel-tcpip-forward",
    "GlobalRequestCancelTcpipForward",
    (("request_name", DISCRIMINATOR), ("want_reply", BOOL), ("address", TEXT), ("port", U32)),
)
GlobalRequestKeepalive = subtype(
    GlobalRequest,
    "keepalive@openssh.com",
    "GlobalRequestKeepalive",
    (("request_name", DISCRIMINATOR), ("want_reply", BOOL)),
)
GlobalRequestHostkeys = subtype(
    GlobalRequest,
    "hostkeys-00@openssh.com",
    "GlobalRequestHostkeys",
    (("request_name", DISCRIMINATOR), ("want_reply", BOOL), ("data", REST)),
)
RequestSuccess = define(81, "REQUEST_SUCCESS", (("data", REST),))
RequestFailure = define(82, "REQUEST_FAILURE", ())

# --- channels (90-127) -----------------------------------------------------------------------

_OPEN_HEAD = (
    ("channel_type", DISCRIMINATOR),
    ("sender", U32),
    ("initial_window", U32),
    ("max_packet", U32),
)
ChannelOpen = define(90, "CHANNEL_OPEN", (*_OPEN_HEAD, ("data", REST)))
ChannelOpen.DISCRIMINATED_BY = "channel_type"
ChannelOpenSession = subtype(ChannelOpen, "session", "ChannelOpenSession", _OPEN_HEAD)
ChannelOpenX11 = subtype(
    ChannelOpen, "x11", "ChannelOpenX11", (*_OPEN_HEAD, ("originator_address", TEXT), ("originator_port", U32))
)
_TCPIP_TAIL = (
    ("address", TEXT),
    ("port", U32),
    ("originator_address", TEXT),
    ("originator_port", U32),
)
ChannelOpenForwardedTcpip = subtype(
    ChannelOpen, "forwarded-tcpip", "ChannelOpenForwardedTcpip", (*_OPEN_HEAD, *_TCPIP_TAIL)
)
ChannelOpenDirectTcpip = subtype(ChannelOpen, "direct-tcpip", "ChannelOpenDirectTcpip", (*_OPEN_HEAD, *_TCPIP_TAIL))
ChannelOpenConfirmation = define(
    91,
    "CHANNEL_OPEN_CONFIRMATION",
    (("recipient", U32), ("sender", U32), ("initial_window", U32), ("max_packet", U32), ("data", REST)),
)
ChannelOpenFailure = define(
    92, "CHANNEL_OPEN_FAILURE", (("recipient", U32), ("reason", U32), ("description", TEXT), ("language", TEXT))
)
ChannelWindowAdjust = define(93, "CHANNEL_WINDOW_ADJUST", (("recipient", U32), ("bytes_to_add", U32)))
ChannelData = define(94, "CHANNEL_DATA", (("recipient", U32), ("data", STRING)))
ChannelExtendedData = define(
    95, "CHANNEL_EXTENDED_DATA", (("recipient", U32), ("data_type", U32), ("data", STRING))
)
ChannelEof = define(96, "CHANNEL_EOF", (("recipient", U32),))
ChannelClose = define(97, "CHANNEL_CLOSE", (("recipient", U32),))

_REQ_HEAD = (("recipient", U32), ("request_type", DISCRIMINATOR), ("want_reply", BOOL))
ChannelRequest = define(98, "CHANNEL_REQUEST", (*_REQ_HEAD, ("data", REST)))
ChannelRequest.DISCRIMINATED_BY = "request_type"


def _req(value: str, name: str, *tail: tuple) -> type[Message]:
    return subtype(ChannelRequest, value, name, (*_REQ_HEAD, *tail))


ChannelRequestPty = _req(
    "pty-req",
    "ChannelRequestPty",
    ("term", TEXT),
    ("width_chars", U32),
    ("height_rows", U32),
    ("width_pixels", U32),
    ("height_pixels", U32),
    ("modes", STRING),
)
ChannelRequestX11 = _req(
    "x11-req",
    "ChannelRequestX11",
    ("single_connection", BOOL),
    ("auth_protocol", TEXT),
    ("auth_cookie", TEXT),
    ("screen", U32),
)
ChannelRequestEnv = _req("env", "ChannelRequestEnv", ("name", TEXT), ("value", TEXT))
ChannelRequestShell = _req("shell", "ChannelRequestShell")
ChannelRequestExec = _req("exec", "ChannelRequestExec", ("command", STRING))
ChannelRequestSubsystem = _req("subsystem", "ChannelRequestSubsystem", ("subsystem", TEXT))
ChannelRequestWindowChange = _req(
    "window-change",
    "ChannelRequestWindowChange",
    ("width_chars", U32),
    ("height_rows", U32),
    ("width_pixels", U32),
    ("height_pixels", U32),
)
ChannelRequestXonXoff = _req("xon-xoff", "ChannelRequestXonXoff", ("client_can_do", BOOL))
ChannelRequestSignal = _req("signal", "ChannelRequestSignal", ("signal", TEXT))
ChannelRequestExitStatus = _req("exit-status", "ChannelRequestExitStatus", ("status", U32))
ChannelRequestExitSignal = _req(
    "exit-signal",
    "ChannelRequestExitSignal",
    ("signal", TEXT),
    ("core_dumped", BOOL),
    ("message", TEXT),
    ("language", TEXT),
)
ChannelRequestKeepalive = _req("keepalive@openssh.com", "ChannelRequestKeepalive")
ChannelRequestEow = _req("eow@openssh.com", "ChannelRequestEow")
ChannelSuccess = define(99, "CHANNEL_SUCCESS", (("recipient", U32),))
ChannelFailure = define(100, "CHANNEL_FAILURE", (("recipient", U32),))


def _table(*classes: type[Message]) -> dict[int, type[Message]]:
    table: dict[int, type[Message]] = {}
    for cls in classes:
        assert cls.ID not in table, cls.NAME
        table[cls.ID] = cls
    return table


GENERIC_TABLE = _table(
    Disconnect, Ignore, Unimplemented, Debug, ServiceRequest, ServiceAccept, ExtInfo, KexInit, NewKeys,
    UserauthRequest, UserauthFailure, UserauthSuccess, UserauthBanner, GlobalRequest, RequestSuccess,
    RequestFailure, ChannelOpen, ChannelOpenConfirmation, ChannelOpenFailure, ChannelWindowAdjust,
    ChannelData, ChannelExtendedData, ChannelEof, ChannelClose, ChannelRequest, ChannelSuccess,
    ChannelFailure,
)  # fmt: skip

# Key exchange contexts: which layout 30-49 have under each kex family.
KEX_TABLES: dict[str, dict[int, type[Message]]] = {
    "dh": _table(KexdhInit, KexdhReply),
    "ecdh": _table(KexEcdhInit, KexEcdhReply),
    "gex": _table(KexGexRequestOld, KexGexGroup, KexGexInit, KexGexReply, KexGexRequest),
}
# Authentication contexts: which layout 60-79 have under the method in progress.
AUTH_TABLES: dict[str, dict[int, type[Message]]] = {
    "publickey": _table(UserauthPkOk),
    "password": _table(UserauthPasswdChangereq),
    "keyboard-interactive": _table(UserauthInfoRequest, UserauthInfoResponse),
}

# Symbolic names for every number, for transcripts and the fuzzer dictionary.
MESSAGE_NAMES: dict[int, str] = {cls.ID: cls.NAME for cls in GENERIC_TABLE.values()}
for _ctx, _tab in (*KEX_TABLES.items(), *AUTH_TABLES.items()):
    for _num, _cls in _tab.items():
        MESSAGE_NAMES.setdefault(_num, _cls.NAME)


def every_message_class() -> list[tuple[type[Message], str | None, str | None]]:
    """(class, kex context, auth context) for every message type of every table, subtypes
    included: what seed generation and the property tests enumerate to cover them all."""
    out: list[tuple[type[Message], str | None, str | None]] = []
    for cls in GENERIC_TABLE.values():
        out.append((cls, None, None))
        out.extend((sub, None, None) for sub in cls.SUBTYPES.values())
    for ctx, table in KEX_TABLES.items():
        out.extend((cls, ctx, None) for cls in table.values())
    for ctx, table in AUTH_TABLES.items():
        out.extend((cls, None, ctx) for cls in table.values())
    return out


def message_name(msg_id: int) -> str:
    return MESSAGE_NAMES.get(msg_id, f"UNKNOWN_{msg_id}")


def decode_message(payload: bytes, kex_context: str | None = None, auth_context: str | None = None) -> Message:
    """Decode ``payload`` under the current contexts; unknown numbers give :class:`UnknownMessage`.

    A number in the kex or auth range with no context (or none of that number in the context)
    also decodes to UnknownMessage: the connection then decides whether that is allowed.
    """
    if not payload:
        raise DecodeError("empty payload (no message number)")
    msg_id = payload[0]
    cls = GENERIC_TABLE.get(msg_id)
    if cls is None:
        if 30 <= msg_id <= 49 and kex_context is not None:
            cls = KEX_TABLES[kex_context].get(msg_id)
        elif 60 <= msg_id <= 79 and auth_context is not None:
            cls = AUTH_TABLES.get(auth_context, {}).get(msg_id)
    if cls is None:
        return UnknownMessage(msg_id, bytes(payload[1:]))
    return cls.decode(bytes(payload))
