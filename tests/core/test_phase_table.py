"""Every (role, phase, message number 0-255) cell against the phase table, exhaustively.

test_phases.py shows the gate on chosen messages, from the client's side. Here every number
reaches a connection of either role in each phase (before the peer's KEXINIT, the first key
exchange, user authentication, authenticated, a re-exchange) and the outcome must be the one
the table in ``harness/ssh/phases.py`` names:

- in the allowed set: the gate lets it through (a handler may still refuse its body);
- assigned but not allowed, anything but a transport-generic number (1-19) during a key
  exchange, or (server) any number from 80 up before authentication: a protocol error, a
  DISCONNECT with PROTOCOL_ERROR and nothing else sent;
- otherwise unassigned and not allowed: SSH_MSG_UNIMPLEMENTED for its sequence number, and the
  connection carries on.

The connections in each phase are the fuzz target's (harness.fuzz.fuzz_connection): built
once from recordings, restored from a snapshot before every cell, so 2,300 cells take a second.
A second test checks the table itself against what RFC 4252-4254 say each side may send.
"""

from __future__ import annotations

import pytest

from harness.fuzz.fuzz_connection import PHASES, get_phase
from harness.ssh import phases
from harness.ssh.connection import unimplemented_payload
from harness.ssh.errors import DisconnectReason, RemoteProtocolError
from harness.ssh.phases import Phase, Role
from harness.ssh.wire import messages as m

# fuzz phase name -> (connection phase, whether the peer's key exchange is running)
CELLS = {
    "kexinit": (Phase.FIRST_KEX, False),
    "kex-curve25519": (Phase.FIRST_KEX, True),
    "userauth": (Phase.USERAUTH, False),
    "connected": (Phase.CONNECTED, False),
    "rekey": (Phase.CONNECTED, True),
    "server-kexinit": (Phase.FIRST_KEX, False),
    "server-kex": (Phase.FIRST_KEX, True),
    "server-userauth": (Phase.USERAUTH, False),
    "server-connected": (Phase.CONNECTED, False),
}
SPECS = {spec.name: spec for spec in PHASES}
# A body after the message number: long enough that no handler is starved of bytes before
# the gate has spoken, and not a valid body of anything that would change the phase.
BODY = bytes(range(1, 24))


def expected_allowed(role: Role, phase: Phase, peer_kex: bool, strict: bool, kex_count: int) -> frozenset[int]:
    if peer_kex:
        return phases.STRICT_FIRST_KEX if strict and kex_count == 0 else phases.DURING_KEX
    return phases.ALLOWED[(role, phase)]


@pytest.mark.parametrize("phase_name", list(CELLS))
def test_every_message_number_gets_the_table_outcome(phase_name: str) -> None:
    built = get_phase(SPECS[phase_name])
    conn = built.conn
    phase, peer_kex = CELLS[phase_name]
    assert conn.phase is phase and conn.kex.peer_kex_active is peer_kex, "the fuzz phase moved"
    role = conn.role
    allowed = expected_allowed(role, phase, peer_kex, conn.kex.strict, conn.kex.count)
    strict_first = conn.kex.strict and conn.kex.count == 0
    problems: list[str] = []
    for number in range(256):
        built.snapshot.restore()
        sent: list[bytes] = []
        conn.packet_observer = lambda d, s, p, out=sent: out.append(bytes(p)) if d == "out" else None
        seq = conn.reader.seq
        wire = built.peer.frame(bytes([number]) + BODY)
        error: RemoteProtocolError | None = None
        try:
            conn.receive_data(wire)
        except RemoteProtocolError as exc:
            error = exc
        cell = f"{role.value}/{phase_name}/{number} ({m.message_name(number)})"
        if number in allowed:
            if error is not None and "is not allowed" in str(error):
                problems.append(f"{cell}: allowed by the table but refused by the gate: {error}")
        elif number in phases.ASSIGNED or strict_first or phases.unassigned_is_violation(role, phase, number, peer_kex):
            if error is None or "is not allowed" not in str(error):
                problems.append(f"{cell}: should be a phase violation, got {error!r}")
                continue
            if error.reason != DisconnectReason.PROTOCOL_ERROR or conn.phase is not Phase.CLOSED:
                problems.append(f"{cell}: reason {error.reason}, phase {conn.phase}")
            if [p[0] for p in sent] != [1]:
                problems.append(f"{cell}: sent {[m.message_name(p[0]) for p in sent]}, not one DISCONNECT")
        else:
            if error is not None or sent != [unimplemented_payload(seq)] or conn.phase is not phase:
                problems.append(f"{cell}: expected UNIMPLEMENTED for seq {seq}, got {error!r}, sent {sent}")
    built.snapshot.restore()
    assert not problems, f"{len(problems)} cell(s) differ:\n" + "\n".join(problems[:40])


# -- the table itself ---------------------------------------------------------------------------

CHANNEL = frozenset(range(90, 101))
GLOBAL = frozenset({80, 81, 82})
USERAUTH_SERVER_REPLIES = frozenset({51, 52, 53})  # FAILURE, SUCCESS, BANNER
USERAUTH_CLIENT_REQUESTS = frozenset({50})  # REQUEST
# 60-79 are method-specific in both directions (RFC 4250 4.1.2): the auth handler decodes them by
# the method in progress, so the table lets them through only while authentication runs.
AUTH_METHOD_SPECIFIC = frozenset(range(60, 80))


@pytest.mark.parametrize("role", list(Role))
def test_table_matches_the_rfcs(role: Role) -> None:
    table = phases.ALLOWED
    for phase in (Phase.FIRST_KEX, Phase.USERAUTH):
        # No connection protocol before authentication (paramiko CVE-2018-7750's class).
        assert not (table[(role, phase)] & (CHANNEL | GLOBAL)), (role, phase)
    assert (CHANNEL | GLOBAL).issubset(table[(role, Phase.CONNECTED)])
    replies, requests = USERAUTH_SERVER_REPLIES, USERAUTH_CLIENT_REQUESTS
    # Only a client receives auth replies, only a server auth requests (CVE-2018-1000805's class).
    theirs = requests if role is Role.CLIENT else replies
    for phase in (Phase.FIRST_KEX, Phase.USERAUTH, Phase.CONNECTED):
        assert not (table[(role, phase)] & theirs), (role, phase)
    # After authentication a client gets no auth messages at all; a server only ignores late
    # USERAUTH_REQUESTs (RFC 4252 5.1).
    connected = table[(role, Phase.CONNECTED)]
    assert not (connected & (replies | AUTH_METHOD_SPECIFIC)), role
    assert AUTH_METHOD_SPECIFIC.issubset(table[(role, Phase.USERAUTH)])
    assert (50 in connected) is (role is Role.SERVER)
    # SERVICE_REQUEST reaches the server's handler in both auth phases (one reason code for a
    # refusal, issue 19.5); SERVICE_ACCEPT reaches a client only before authentication.
    if role is Role.SERVER:
        assert 5 in table[(role, Phase.USERAUTH)] and 5 in connected
    else:
        assert 6 in table[(role, Phase.USERAUTH)] and 6 not in connected
    assert phases.GENERIC <= phases.DURING_KEX and not (phases.DURING_KEX & (CHANNEL | GLOBAL | {5, 6, 50, 52}))
    strict_extra = phases.STRICT_FIRST_KEX - phases.KEX
    assert strict_extra == {1}  # strict kex: only DISCONNECT besides kex
    # RFC 4253 7.1: transport-generic numbers (1-19) may come during a key exchange, so an
    # unassigned one is only unrecognized (UNIMPLEMENTED); RFC 4252 6: a server disconnects on
    # any number from 80 up before authentication is complete (a client is not told to).
    assert frozenset(range(1, 20)) == phases.TRANSPORT_GENERIC and phases.AFTER_AUTH_FROM == 80
    assert not phases.unassigned_is_violation(role, Phase.CONNECTED, 15, True)
    assert phases.unassigned_is_violation(role, Phase.CONNECTED, 150, True)
    assert phases.unassigned_is_violation(role, Phase.USERAUTH, 200, False) is (role is Role.SERVER)
    assert not phases.unassigned_is_violation(role, Phase.CONNECTED, 200, False)
