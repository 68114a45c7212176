"""A hypothesis state machine over the channel table, both roles at once (issue 19, property tests).

A client and a server core in memory open channels to each other (the client a session, the
server an x11 channel the client's application accepts or refuses), send data and stderr,
EOF, CLOSE and requests with and without replies, read (which re-grants window) and let the
bytes cross in either order. Each side's window and maximum packet are drawn, up to 2^32-1.

A small model of each channel predicts which of our own calls are legal. Rules:
- a legal call never raises, an illegal one raises LocalProtocolError and sends nothing;
- nothing either side receives is ever a protocol error (we only send what is legal);
- once quiet: each side's view of the other's window and maximum packet is exact, every byte
  arrived once and in order per stream, EOF and CLOSE were seen as sent, a channel closed by
  both is forgotten by both, and each request with want_reply got its reply, in order;
- no payload either side sent exceeds MAX_OUR_PAYLOAD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.ssh import events as ev
from harness.ssh.errors import LocalProtocolError
from harness.ssh.limits import MAX_OUR_PAYLOAD
from harness.ssh.wire import messages as m

from .channel_pair import ChannelPair, channel_pair, other

ROLES = ("client", "server")
U32_MAX = 0xFFFFFFFF
MAX_LINKS = 5
# Requests the test server's policy grants (tests/core/pair.py); the client application refuses all.
GRANTED = {"shell": True, "env": False}
# Small windows make window adjusts and stalls common; 2^32-1 is the largest a peer may announce.
windows = st.one_of(st.integers(1, 300), st.integers(1, 70_000), st.just(U32_MAX))
max_packets = st.one_of(st.integers(1, 300), st.integers(300, 70_000), st.just(U32_MAX))
sizes = st.one_of(st.integers(0, 400), st.integers(0, 100_000))


@dataclass
class Link:
    """One channel as both applications see it."""

    opener: str
    ids: dict[str, int | None]
    open: set[str] = field(default_factory=set)  # sides that consider it open
    refused: bool = False  # the opener heard OPEN_FAILURE
    rejected: bool = False  # the client's application refused the server's open
    sent: dict[tuple[str, int], bytearray] = field(default_factory=dict)  # (sender, data type) -> bytes
    received: dict[tuple[str, int], bytearray] = field(default_factory=dict)  # (receiver, data type)
    unread: dict[str, int] = field(default_factory=lambda: {"client": 0, "server": 0})
    eof_sent: set[str] = field(default_factory=set)
    eof_seen: set[str] = field(default_factory=set)
    close_sent: set[str] = field(default_factory=set)
    close_seen: set[str] = field(default_factory=set)
    expected_replies: dict[str, list[bool]] = field(default_factory=lambda: {"client": [], "server": []})
    replies: dict[str, list[bool]] = field(default_factory=lambda: {"client": [], "server": []})

    def closing(self, role: str) -> bool:
        """Our CLOSE is out: sent by us, or by the core in answer to the peer's."""
        return role in self.close_sent or role in self.close_seen

    def forgotten(self, role: str) -> bool:
        if self.refused or (self.rejected and role == "client"):
            return True
        return role in self.close_seen and self.closing(role)


class ChannelMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cp: ChannelPair
        self.links: list[Link] = []
        self.seen = {"client": 0, "server": 0}  # events processed per side
        self.pending_opens: list[Link] = []  # x11 opens the client's application must answer
        self.quiet = True

    @initialize(cw=windows, cm=max_packets, sw=windows, sm=max_packets)
    def connect(self, cw: int, cm: int, sw: int, sm: int) -> None:
        self.cp = channel_pair(client_window=cw, client_max_packet=cm, server_window=sw, server_max_packet=sm)
        link = Link("client", {"client": self.cp.client_id, "server": self.cp.server_id}, open={"client", "server"})
        self.links.append(link)

    # -- helpers -------------------------------------------------------------------------------

    def _link_by_id(self, role: str, local_id: int) -> Link:
        for link in self.links:
            if link.ids[role] == local_id and not link.forgotten(role):
                return link
        raise AssertionError(f"{role} reported channel {local_id}, which no live link has")

    def _call(self, legal: bool, fn) -> object:  # type: ignore[no-untyped-def]
        """Run one of our calls; the model said whether it is legal."""
        before = {r: len(self.cp.sent[r]) for r in ROLES}
        if legal:
            result = fn()
            self.quiet = False
            return result
        try:
            fn()
        except LocalProtocolError:
            assert {r: len(self.cp.sent[r]) for r in ROLES} == before, "an illegal call sent something"
            return None
        raise AssertionError("the model says this call is illegal, but the core accepted it")

    def _process(self) -> bool:
        """Take new events of both sides into the model; True if the applications answered."""
        answered = False
        for role in ROLES:
            events = self.cp.events(role)
            conn = self.cp.conn(role)
            for event in events[self.seen[role] :]:
                if isinstance(event, ev.ChannelData):
                    link = self._link_by_id(role, event.channel)
                    link.received.setdefault((role, event.data_type), bytearray()).extend(event.data)
                    link.unread[role] += len(event.data)
                elif isinstance(event, ev.ChannelEof):
                    self._link_by_id(role, event.channel).eof_seen.add(role)
                elif isinstance(event, ev.ChannelClosed):
                    self._link_by_id(role, event.channel).close_seen.add(role)
                elif isinstance(event, ev.ChannelRequestReceived):
                    if role == "client" and event.want_reply:
                        conn.channels.reply_request(event.channel, False)
                        answered = True
                elif isinstance(event, ev.ChannelRequestReply):
                    self._link_by_id(role, event.channel).replies[role].append(event.success)
                elif isinstance(event, ev.ChannelOpened):
                    self._opened(role, event.channel)
                elif isinstance(event, ev.ChannelOpenFailed):
                    [link] = [k for k in self.links if k.opener == role and k.ids[role] == event.channel]
                    link.refused = True
                elif isinstance(event, ev.ChannelOpenRequested):
                    waiting = [k for k in self.links if k.opener == "server" and k.ids["client"] is None]
                    waiting[0].ids["client"] = event.channel
                    self.pending_opens.append(waiting[0])
            self.seen[role] = len(events)
        return answered

    def _opened(self, role: str, local_id: int) -> None:
        for link in self.links:
            if link.ids[role] == local_id and link.opener == role:  # our open was confirmed
                link.open.add(role)
                return
        # The server accepted a session the client opened: its id is new to the model.
        waiting = [k for k in self.links if k.opener == "client" and k.ids["server"] is None]
        waiting[0].ids["server"] = local_id
        waiting[0].open.add("server")

    def _live(self, data: st.DataObject) -> Link:
        return data.draw(st.sampled_from(self.links))

    # -- rules ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.links) < MAX_LINKS)
    @rule(opener=st.sampled_from(ROLES))
    def open_channel(self, opener: str) -> None:
        conn = self.cp.conn(opener)
        if opener == "client":
            cid = conn.channels.open("session")
        else:
            cid = conn.channels.open("x11", m.ChannelOpenX11(originator_address="127.0.0.1", originator_port=6010))
        self.links.append(Link(opener, {opener: cid, other(opener): None}))
        self.quiet = False

    @precondition(lambda self: bool(self.pending_opens))
    @rule(accept=st.booleans())
    def answer_open(self, accept: bool) -> None:
        link = self.pending_opens.pop(0)
        cid = link.ids["client"]
        assert cid is not None
        if accept:
            self.cp.pair.client.channels.accept_open(cid)
            link.open.add("client")
        else:
            self.cp.pair.client.channels.reject_open(cid)
            link.rejected = True
        self.quiet = False

    @rule(data=st.data(), role=st.sampled_from(ROLES), size=sizes, data_type=st.sampled_from([0, 1]))
    def send(self, data: st.DataObject, role: str, size: int, data_type: int, link: Link | None = None) -> None:
        link = link or self._live(data)
        cid = link.ids[role]
        legal = role in link.open and not link.forgotten(role) and role not in link.eof_sent and not link.closing(role)
        if cid is None:
            return
        state = self.cp.conn(role).channels.channels.get(cid)
        if state is not None and state.remote_max_packet:
            size = min(size, 64 * state.remote_max_packet)  # at most 64 packets: tiny max packets stay quick
        payload = bytes([len(link.sent) % 251]) * size
        taken = self._call(legal, lambda: self.cp.conn(role).channels.send_data(cid, payload, data_type))
        if legal:
            assert isinstance(taken, int) and 0 <= taken <= size
            link.sent.setdefault((role, data_type), bytearray()).extend(payload[:taken])

    @rule(data=st.data(), role=st.sampled_from(ROLES))
    def send_eof(self, data: st.DataObject, role: str) -> None:
        link = self._live(data)
        cid = link.ids[role]
        if cid is None:
            return
        legal = role in link.open and not link.forgotten(role) and not link.closing(role)
        self._call(legal, lambda: self.cp.conn(role).channels.send_eof(cid))
        if legal:
            link.eof_sent.add(role)

    @rule(data=st.data(), role=st.sampled_from(ROLES))
    def close(self, data: st.DataObject, role: str) -> None:
        link = self._live(data)
        cid = link.ids[role]
        if cid is None or role not in link.open:
            return
        self.cp.conn(role).channels.close(cid)  # always allowed: a no-op once closing or gone
        if not link.forgotten(role):
            link.close_sent.add(role)
        self.quiet = False

    @rule(data=st.data(), role=st.sampled_from(ROLES), kind=st.sampled_from(sorted(GRANTED)), want_reply=st.booleans())
    def request(self, data: st.DataObject, role: str, kind: str, want_reply: bool) -> None:
        link = self._live(data)
        cid = link.ids[role]
        if cid is None:
            return
        legal = role in link.open and not link.forgotten(role) and not link.closing(role)
        msg = m.ChannelRequestShell(want_reply=want_reply) if kind == "shell" else m.ChannelRequestEnv(
            want_reply=want_reply, name="LANG", value="C")  # fmt: skip
        self._call(legal, lambda: self.cp.conn(role).channels.send_request(cid, msg))
        if legal and want_reply:
            link.expected_replies[role].append(GRANTED[kind] if role == "client" else False)

    @rule(data=st.data(), role=st.sampled_from(ROLES), fraction=st.floats(0, 1))
    def read(self, data: st.DataObject, role: str, fraction: float) -> None:
        """The application reads part of what arrived: the core may re-grant window."""
        link = self._live(data)
        cid = link.ids[role]
        n = int(link.unread[role] * fraction)
        if cid is None or not n:
            return
        link.unread[role] -= n
        self.cp.conn(role).channels.consumed(cid, n)
        self.quiet = False

    @rule(data=st.data(), role=st.sampled_from(ROLES), size=sizes)
    def stream(self, data: st.DataObject, role: str, size: int) -> None:
        """The common flow in one step: send, deliver, the peer reads it all, deliver its adjust."""
        link = self._live(data)
        self.send(data, role, size, 0, link)
        self.pump()
        peer = other(role)
        cid = link.ids[peer]
        if cid is not None and link.unread[peer]:
            self.cp.conn(peer).channels.consumed(cid, link.unread[peer])
            link.unread[peer] = 0
        self.pump()

    @rule()
    def pump(self) -> None:
        for _ in range(100):
            self.cp.pump()
            if not self._process():
                break
        self.quiet = True

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def payloads_within_our_limit(self) -> None:
        for role in ROLES:
            assert all(len(p) <= MAX_OUR_PAYLOAD for p in self.cp.sent[role])

    @invariant()
    def quiet_state_agrees(self) -> None:
        if not self.quiet:
            return
        client, server = self.cp.pair.client.channels.channels, self.cp.pair.server.channels.channels
        for link in self.links:
            for role in ROLES:
                peer = other(role)
                for data_type in (0, 1):
                    sent = link.sent.get((peer, data_type), b"")
                    assert link.received.get((role, data_type), b"") == sent, (link, role, data_type)
                assert (peer in link.eof_sent) == (role in link.eof_seen), (link, role)
                if link.forgotten(role) and link.forgotten(peer):
                    ours = client if role == "client" else server
                    assert link.ids[role] not in ours, f"{role} keeps channel {link.ids[role]} closed both ways"
                if link.closing(peer) and role in link.open:
                    assert role in link.close_seen
                if not link.closing(role) and not link.closing(peer):
                    assert link.replies[role] == link.expected_replies[role], (link, role)
                else:
                    assert link.replies[role] == link.expected_replies[role][: len(link.replies[role])]
            if link.open == {"client", "server"} and not (link.forgotten("client") or link.forgotten("server")):
                c, s = client[link.ids["client"]], server[link.ids["server"]]  # type: ignore[index]
                assert (c.remote_window, c.remote_max_packet) == (s.local_window, s.local_max_packet)
                assert (s.remote_window, s.remote_max_packet) == (c.local_window, c.local_max_packet)
                assert 0 <= c.local_window <= U32_MAX and 0 <= s.local_window <= U32_MAX


ChannelMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
test_channel_table_state_machine = ChannelMachine.TestCase
