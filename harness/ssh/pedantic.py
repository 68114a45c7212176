"""A pedantic peer: refuses what the RFCs tell receivers to tolerate.

Why it exists: the scenario self-check (harness/scenario/selfcheck.py) must show that scenarios
of the form "the peer must accept X" can fail. Its ``pedant`` reference is our own server with
``ConnectionConfig.pedantic`` set, which refuses exactly the things such scenarios send: IGNORE,
DEBUG and UNIMPLEMENTED (RFC 4253 11), payloads past 16 KiB (below the 32768 bytes RFC 4253 6.1
requires), a KEXINIT with a non-zero reserved field or before login, and identification lines
that carry comments, end in LF only, hold a minus in the software version or are long.
Nothing else in the project sets it; the connection calls these only when it is set.
"""

from __future__ import annotations

from typing import Any

PEDANT_MAX_PAYLOAD = 16384  # half of what RFC 4253 6.1 makes everyone accept
PEDANT_MAX_VERSION = 100  # characters; RFC 4253 4.2 allows 255 with CR LF
_NOISE = {2: "IGNORE", 3: "UNIMPLEMENTED", 4: "DEBUG"}


def message_refusal(msg_id: int, payload: bytes, rekey_before_login: bool) -> str | None:
    """Why a pedant refuses this packet, or None."""
    if msg_id in _NOISE:
        return f"pedant: refuses {_NOISE[msg_id]}"
    if len(payload) > PEDANT_MAX_PAYLOAD:
        return f"pedant: refuses a {len(payload)}-byte payload"
    if msg_id == 20:
        if payload[-4:] != b"\x00\x00\x00\x00":
            return "pedant: refuses a KEXINIT with a non-zero reserved field"
        if rekey_before_login:
            return "pedant: refuses a key re-exchange before login"
    return None


def version_refusal(version: Any) -> str | None:
    """Why a pedant refuses the peer's identification line (a PeerVersion), or None."""
    if version.comments:
        return "pedant: refuses comments in the identification line"
    if not version.ended_with_crlf:
        return "pedant: refuses an identification line without CR LF"
    if version.proto_version != "2.0":
        return f"pedant: refuses protocol version {version.proto_version}"
    if "-" in version.software_version:
        return "pedant: refuses a minus sign in the software version"
    if len(version.line) > PEDANT_MAX_VERSION:
        return f"pedant: refuses a {len(version.line)}-character identification line"
    return None
