"""Connection phases and which message numbers the peer may send in each.

Why a table: paramiko's CVE-2018-1000805 and CVE-2018-7750 came from handlers that ran in the
wrong phase. Here a message is routed only if its number is in the set for (role, phase);
anything else is a protocol violation, decided before any handler runs.
"""

from __future__ import annotations

from enum import Enum


class Role(Enum):
    CLIENT = "client"
    SERVER = "server"

    # Members are singletons compared by identity; Enum's own __hash__ is a Python-level call
    # (hash of the name), paid on every ALLOWED lookup, i.e. every packet received.
    __hash__ = object.__hash__


class Phase(Enum):
    VERSION = "version exchange"
    FIRST_KEX = "first key exchange"
    USERAUTH = "user authentication"
    CONNECTED = "authenticated"
    CLOSED = "closed"

    __hash__ = object.__hash__  # as for Role: identity hash, no Python call per lookup


def _ids(*spans: int | tuple[int, int]) -> frozenset[int]:
    out: set[int] = set()
    for span in spans:
        if isinstance(span, tuple):
            out.update(range(span[0], span[1] + 1))
        else:
            out.add(span)
    return frozenset(out)


# Transport messages usable at any time after the version exchange (RFC 4253 11).
GENERIC = _ids(1, 2, 3, 4)
KEX = _ids(20, 21, (30, 49))
# During a key exchange (after the peer's KEXINIT, until its NEWKEYS), RFC 4253 7.1.
DURING_KEX = _ids(1, 2, 3, 4, 21, (30, 49))
# Strict kex (OpenSSH PROTOCOL): only kex messages in the first exchange; DISCONNECT still ends it.
STRICT_FIRST_KEX = _ids(1, 20, 21, (30, 49))

# Message numbers that are part of the protocol at all: an unassigned number in an allowed range
# is answered with UNIMPLEMENTED; a known number in the wrong phase is a protocol error.
ALLOWED: dict[tuple[Role, Phase], frozenset[int]] = {
    (Role.CLIENT, Phase.FIRST_KEX): GENERIC | KEX,
    (Role.CLIENT, Phase.USERAUTH): GENERIC | _ids(6, 7, 20, 51, 52, 53, (60, 79)),
    (Role.CLIENT, Phase.CONNECTED): GENERIC | _ids(7, 20, (80, 127)),
    (Role.SERVER, Phase.FIRST_KEX): GENERIC | KEX,
    # A client may send EXT_INFO after its first NEWKEYS (RFC 8308 2.4).
    (Role.SERVER, Phase.USERAUTH): GENERIC | _ids(5, 7, 20, 50, (60, 79)),
    # SERVICE_REQUEST stays routable after authentication so that its handler refuses it with the
    # same reason code (SERVICE_NOT_AVAILABLE) as a second or unknown request before it.
    (Role.SERVER, Phase.CONNECTED): GENERIC | _ids(5, 20, 50, (80, 127)),
}

# Numbers with a defined meaning somewhere (RFC 4250 ranges): if one arrives outside its phase it
# is a violation; other numbers are "unrecognized" and get UNIMPLEMENTED (RFC 4253 11.4).
ASSIGNED = _ids((1, 7), 20, 21, (30, 34), (50, 53), (60, 61), (80, 82), (90, 100))

# Unassigned numbers that are refused instead of answered with UNIMPLEMENTED. During a key
# exchange the peer may send transport-generic numbers (1 to 19) besides the kex ones (RFC 4253
# 7.1): an unassigned one of them is merely unrecognized; anything else there is a violation. A
# server must disconnect on any number from 80 up before authentication is complete (RFC 4252 6).
TRANSPORT_GENERIC = _ids((1, 19))
AFTER_AUTH_FROM = 80


def unassigned_is_violation(role: Role, phase: Phase, number: int, peer_kex_active: bool) -> bool:
    """Whether an unassigned, not allowed message number is a protocol violation (else UNIMPLEMENTED)."""
    if peer_kex_active and number not in TRANSPORT_GENERIC:
        return True
    return role is Role.SERVER and phase is not Phase.CONNECTED and number >= AFTER_AUTH_FROM
