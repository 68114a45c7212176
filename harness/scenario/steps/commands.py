"""Commands: steps that act on the connection (connect, kex, auth, rekey, tamper, ...).

Each waits for the core's own confirmation of what it did before the next step runs.
"""

from __future__ import annotations

import copy
import socket
import time
from collections.abc import Callable
from typing import Any

from harness.echo import EchoService
from harness.scenario import tampers as tp
from harness.scenario.runner import Context, StepFailure
from harness.scenario.steps.base import Composite, Step, _conn, _fatal, _show_expected, _value_matches, await_event
from harness.scenario.steps.expect import Expect, ExpectClose
from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.phases import Role
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

# == commands: connection ================================================================

ConfigValue = Any  # a value, or a callable(PeerInfo) -> value


def scenario_kex_preference(offer: tuple[str, ...]) -> tuple[str, ...]:
    """Our default kex offer with sntrup761x25519 moved behind the X25519 and NIST curves.

    Why: our sntrup761 key generation is pure Python, about 130 ms of CPU per connection, and
    OpenSSH 8.5 to 9.9 and tinysshd pick it whenever the client lists it first. Over a default
    run (some 2,000 connections to those peers, on 2 cores) that CPU slowed every cell sharing
    the machine and stretched peers' replies past the 1 s that informational cells wait.
    Scenarios about the key exchange name their method (``Connect(kex=...)``); sntrup761 stays
    offered, so a peer that has nothing else still gets it.
    """
    slow = [name for name in offer if name.startswith("sntrup761")]
    fast = [name for name in offer if name not in slow]
    ecdh_end = max((i for i, name in enumerate(fast) if name.startswith(("curve25519", "ecdh-sha2"))), default=-1)
    return (*fast[: ecdh_end + 1], *slow, *fast[ecdh_end + 1 :])


def make_config(ctx: Context, overrides: dict[str, ConfigValue]) -> ConnectionConfig:
    cfg = ConnectionConfig()
    cfg.strict_kex = ctx.strict_kex  # the scenario's choice; a step's own option below wins
    if ctx.role != "server":
        cfg.kex = scenario_kex_preference(cfg.kex)
        meet_legacy_peer(cfg, getattr(ctx.info, "algorithms", None) or {})
        for key, names in peer_scenario_options(getattr(ctx.info, "extra", None) or {}).items():
            setattr(cfg, key, names)
    for key, value in overrides.items():
        if callable(value):
            value = value(ctx.info)
        if not hasattr(cfg, key):
            raise ValueError(f"ConnectionConfig has no option {key!r}")
        setattr(cfg, key, tuple(value) if isinstance(value, list) else value)
    return cfg


def peer_scenario_options(extra: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """ConnectionConfig options a peer's description asks scenario connections to use
    (``extra["scenario_algorithms"]``, e.g. ``ciphers=aes128-ctr,aes256-ctr``); a step's own
    options still win. Unknown option names are an error that names the peer's entry."""
    from harness.peers.zoo import decode_options

    found = decode_options(extra.get("scenario_algorithms", ""))
    for name in found:
        if name not in _implemented():
            raise ValueError(f"scenario_algorithms: {name!r} is not one of {', '.join(_implemented())}")
    return found


def _implemented() -> dict[str, tuple[str, frozenset[str]]]:
    """ConnectionConfig field -> (the peer's advertised-algorithms key, what our core implements)."""
    from harness.ssh.crypto.protection import CIPHERS, MACS
    from harness.ssh.kex.methods import KEX_METHODS
    from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

    return {"kex": ("kex", frozenset(KEX_METHODS)),
            "host_key_algorithms": ("host_key", frozenset(SUPPORTED_HOST_KEY_ALGORITHMS)),
            "ciphers": ("cipher_c2s", frozenset(CIPHERS)),
            "macs": ("mac_c2s", frozenset(MACS))}  # fmt: skip


def meet_legacy_peer(cfg: ConnectionConfig, advertised: dict[str, Any]) -> None:
    """Where our default offer shares nothing with what the peer advertises (GNU lsh offers only
    SHA-1 Diffie-Hellman and CBC ciphers), append what it offers and our core implements, as a
    user would with ``KexAlgorithms=+...``: otherwise every scenario against it would end in a
    failed negotiation instead of testing what it is about. Peers we share an algorithm with
    (every other peer) get our defaults unchanged; a scenario's own options still win."""
    for field_name, (key, implemented) in _implemented().items():
        offered = tuple(advertised.get(key) or ())
        ours = getattr(cfg, field_name)
        if not offered or set(ours) & set(offered):
            continue
        setattr(cfg, field_name, (*ours, *(a for a in offered if a in implemented)))


class Connect(Step):
    """Open TCP to the peer and (``start``) send our version line and KEXINIT.

    ``version``: our identification line (bytes without CR LF) instead of the default;
    ``kexinit``: a function (KexInit message, ctx) -> KexInit to hand-make our first KEXINIT;
    ``config``: ConnectionConfig options (values may be functions of the PeerInfo);
    ``host_keys`` (server role): a function (the target's host keys, ctx) -> the keys our server
    signs with instead (a key that signs wrongly, a blob of another type).
    """

    def __init__(self, start: bool = True, version: bytes | None = None,
                 kexinit: Callable[[Message, Context], Message] | None = None,
                 host_keys: Callable[[list[Any], Context], list[Any]] | None = None,
                 **config: ConfigValue) -> None:  # fmt: skip
        self.start, self.version, self.kexinit, self.config = start, version, kexinit, config
        self.host_keys = host_keys

    def run(self, ctx: Context) -> None:
        cfg = make_config(ctx, self.config)
        if ctx.role == "server":
            ctx.target.configure(cfg)
            if self.host_keys is not None:
                cfg.server_host_keys = list(self.host_keys(list(cfg.server_host_keys), ctx))
            sock, policy = ctx.target.accept(ctx)
            conn = ctx.new_connection(cfg, sock, Role.SERVER, policy)
        else:
            try:
                sock = socket.create_connection(ctx.info.address, timeout=ctx.timeout)
            except OSError as exc:
                raise StepFailure(f"{ctx.step_label}: cannot connect to {ctx.info.address}: {exc}") from exc
            conn = ctx.new_connection(cfg, sock)
        ctx.note(f"connected ({ctx.role} role) to {ctx.info.peer_id}; seed {ctx.seed}")
        if self.version is not None:
            conn.our_version_line = self.version
        if self.start:
            StartKex(self.kexinit, send_version=True).run(ctx)

    def describe(self) -> str:
        opts = ", ".join(f"{k}=..." if callable(v) else f"{k}={v!r}" for k, v in self.config.items())
        return f"Connect({opts})"


class SendVersion(Step):
    """Send our identification line (the one the connection will hash)."""

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        conn.send_raw(conn.our_version_line + b"\r\n")
        ctx.transcript.add(">>", f"version {conn.our_version_line!r}")
        ctx.flush()


class StartKex(Step):
    """Send our KEXINIT now (optionally hand-made with ``kexinit(msg, ctx)``)."""

    def __init__(self, kexinit: Callable[[Message, Context], Message] | None = None,
                 send_version: bool = False) -> None:  # fmt: skip
        self.kexinit, self.send_version = kexinit, send_version

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        if conn.phase.value == "closed":  # the peer already hung up: the next expectation says so
            ctx.note("StartKex skipped: the connection is already closed")
            return
        if self.send_version:
            SendVersion().run(ctx)
            if conn.phase.value == "closed":  # writing the version line found the peer gone
                ctx.note("StartKex skipped: the peer closed the connection")
                return
        msg = conn.kex.build_kexinit() if conn.kex.our_kexinit is None else None
        if msg is not None and self.kexinit is not None:
            msg = self.kexinit(msg, ctx)
        conn.kex.start(msg)
        ctx.flush()


class WaitKex(Step):
    """Wait until a key exchange completes; check negotiated values if given."""

    def __init__(self, timeout: float | None = None, **negotiated: Any) -> None:
        self.timeout, self.negotiated = timeout, negotiated

    def run(self, ctx: Context) -> None:
        event = await_event(ctx, lambda e: isinstance(e, ev.KexComplete), "the key exchange to complete",
                            self.timeout or max(ctx.timeout, 20.0))  # fmt: skip
        ctx.vars["kex"] = event
        for name, want in self.negotiated.items():
            got = getattr(event, name)
            if not _value_matches(want, got, ctx):
                raise StepFailure(f"{ctx.step_label}: expected negotiated {name} {_show_expected(want, ctx)}; "
                                  f"got {got!r} (phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        return "WaitKex(" + ", ".join(f"{k}={v!r}" for k, v in self.negotiated.items()) + ")"


def Handshake(**config: Any) -> Composite:  # noqa: N802 - a step constructor
    """Connect and complete the first key exchange."""
    negotiated = config.pop("expect", {})
    return Composite("Handshake", Connect(**config), WaitKex(**negotiated))


def Login(method: str = "auto", key: str = "ed25519", **config: Any) -> Composite:  # noqa: N802
    """Handshake and authenticate (password where offered, else the Ed25519 key)."""
    return Composite("Login", Handshake(**config), Authenticate(method, key))


class Authenticate(Step):
    """Log in: ``method`` auto / password / publickey / keyboard-interactive; must succeed."""

    def __init__(self, method: str = "auto", key: str = "ed25519", algorithm: str | None = None,
                 succeed: bool = True) -> None:  # fmt: skip
        self.method, self.key, self.algorithm, self.succeed = method, key, algorithm, succeed

    def run(self, ctx: Context) -> None:
        from harness.peers.registry import info_supports_password

        conn = _conn(ctx)
        info = ctx.info
        method = self.method
        if method == "auto":
            method = "password" if info_supports_password(info) else "publickey"
        held_requests = (getattr(info, "extra", None) or {}).get("service_accept_first") == "1"
        if held_requests and not conn.auth.service_accepted:
            # PuTTY's Uppity 0.78 at times never answers a request sent right behind the
            # SERVICE_REQUEST (harness.peers.zoo): wait for SERVICE_ACCEPT first, as its clients do.
            conn.auth.request_service()
            ctx.flush()
            await_event(ctx, lambda e: isinstance(e, ev.ServiceAccepted), "SERVICE_ACCEPT")
        sent_at = len(ctx.log)
        if method == "password":
            conn.auth.password(info.username, info.password)
        elif method == "publickey":
            conn.auth.publickey(info.username, load_client_key(info, self.key), self.algorithm)
        elif method == "keyboard-interactive":
            conn.auth.keyboard_interactive(info.username)
        else:
            raise ValueError(f"unknown auth method {method!r}")
        ctx.flush()
        if held_requests:
            _nudge_until_answered(ctx, sent_at)
        while True:
            event = await_event(ctx, lambda e: isinstance(e, ev.AuthSuccess | ev.AuthFailure | ev.AuthInfoRequest),
                                f"USERAUTH_SUCCESS for {method}")  # fmt: skip
            if isinstance(event, ev.AuthInfoRequest):
                conn.auth.info_response([info.password] * len(event.prompts))
                ctx.flush()
                continue
            break
        ok = isinstance(event, ev.AuthSuccess)
        if ok != self.succeed:
            start = max(0, ctx.expect_pos - 1)
            raise ctx.fail(f"{method} authentication to {'succeed' if self.succeed else 'fail'}", start)

    def describe(self) -> str:
        return f"Authenticate({self.method})"


NUDGE_AFTER = 1.0  # seconds without an answer to a login request before an IGNORE nudges the peer
NUDGES = 3


def _nudge_until_answered(ctx: Context, sent_at: int) -> None:
    """Uppity 0.78 at times sits on a USERAUTH_REQUEST until another packet arrives (its helper's
    finding, docs/PEERS.md): send an IGNORE after each second of silence, a few times, so the
    login (which is not what any scenario is about) gets through."""
    conn = _conn(ctx)
    answered = (ev.MessageReceived, ev.AuthSuccess, ev.AuthFailure, ev.AuthInfoRequest, ev.Disconnected)
    for _ in range(NUDGES):
        if ctx.wait_for(lambda e: isinstance(e, answered), NUDGE_AFTER, sent_at) or ctx.closed:
            return
        conn.send_message(m.Ignore(data=b""))
        ctx.flush()


def load_client_key(info: Any, name: str) -> Any:
    from harness.peers.base import CLIENT_KEY_PASSPHRASE
    from harness.ssh.keys import load_private_key_file

    password = CLIENT_KEY_PASSPHRASE if name.endswith("encrypted") else None
    return load_private_key_file(str(info.client_keys[name]), password)


class Rekey(Step):
    """Start a key re-exchange now (optionally with changed preferences) and wait for it."""

    def __init__(self, wait: bool = True, expect: dict[str, Any] | None = None, **config: Any) -> None:
        self.wait, self.expect, self.config = wait, expect or {}, config

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        for key, value in self.config.items():
            setattr(conn.config, key, tuple(value(ctx.info) if callable(value) else value))
        conn.rekey()
        ctx.flush()
        if self.wait:
            WaitKex(**self.expect).run(ctx)

    def describe(self) -> str:
        return f"Rekey({', '.join(self.config)})"


class HoldAfterNewKeys(Step):
    """From our next NEWKEYS on, keep everything we send in the core (nothing is written) until
    ``ReleaseHeld()``, which writes it in one piece: NEWKEYS and the packets queued after it
    reach the peer in one TCP segment, so one read of the peer's gets them all. Steps that wait
    for an answer to held output must come after ``ReleaseHeld()``."""

    def run(self, ctx: Context) -> None:
        ctx.hold_after_newkeys = _conn(ctx).kex.count
        ctx.note("holding our output from our next NEWKEYS on")


class ReleaseHeld(Step):
    """Write what ``HoldAfterNewKeys()`` held, in one write."""

    def run(self, ctx: Context) -> None:
        _conn(ctx)
        if ctx.hold_after_newkeys is None:
            raise ValueError("ReleaseHeld() without HoldAfterNewKeys() before it")
        ctx.hold_after_newkeys = None
        ctx.note("releasing the held output in one write")
        ctx.flush()


class Disconnect(Step):
    def __init__(self, reason: int = 11, description: str = "scenario done") -> None:
        self.reason, self.description = reason, description

    def run(self, ctx: Context) -> None:
        _conn(ctx).disconnect(self.reason, self.description)
        ctx.flush()


class Wait(Step):
    """Keep reading for ``seconds`` (events are logged; nothing is checked)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def run(self, ctx: Context) -> None:
        ctx.settle(self.seconds)

    def describe(self) -> str:
        return f"Wait({self.seconds})"


class Call(Step):
    """Escape hatch: ``fn(ctx)``. Prefer a named step when something is needed twice.

    An ``AssertionError`` from ``fn`` is the scenario's own check failing on what the peer did:
    a FAIL of the cell, like any step's expected/got. Any other exception stays a harness error."""

    def __init__(self, fn: Callable[[Context], None], description: str = "Call") -> None:
        self.fn, self.description = fn, description

    def run(self, ctx: Context) -> None:
        try:
            self.fn(ctx)
        except StepFailure:
            raise
        except AssertionError as exc:
            raise StepFailure(f"{ctx.step_label}: {exc}") from exc
        ctx.flush()

    def describe(self) -> str:
        return self.description


class AutoConsume(Step):
    """Whether received channel data is acknowledged (window re-granted) automatically."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def run(self, ctx: Context) -> None:
        ctx.vars["no_consume"] = not self.on


class Tamper(Step):
    """Arm tampers for what is sent next: packet/wire ones for ``count`` packets, stream ones
    for ``count`` writes (see harness.scenario.tampers)."""

    def __init__(self, *tampers: tp.Tamper) -> None:
        self.tampers = tampers

    def run(self, ctx: Context) -> None:
        for t in self.tampers:
            if t.layer == "stream":
                ctx.stream_tampers.append(copy.copy(t))
            elif t.layer in ("packet", "wire"):
                _arm_writer(ctx, _conn(ctx).writer, copy.copy(t))
            else:
                raise ValueError(f"{t.describe()}: message/payload tampers go on a Send step")
            ctx.note(f"armed {t.describe()}")

    def describe(self) -> str:
        return "Tamper(" + ", ".join(t.describe() for t in self.tampers) + ")"


def _arm_writer(ctx: Context, writer: Any, t: tp.Tamper) -> None:
    attr = "tamper_packet" if t.layer == "packet" else "tamper_wire"
    previous = getattr(writer, attr)
    remaining = [t.count]

    def hook(data: Any) -> Any:
        if previous is not None:
            data = previous(data)
        if remaining[0] > 0:
            remaining[0] -= 1
            data = t.apply(data)  # type: ignore[attr-defined]
            if remaining[0] == 0:
                setattr(writer, attr, previous)
        return data

    setattr(writer, attr, hook)


# == more commands =======================================================================


class AuthAttempt(Step):
    """One authentication request through the core that is expected to fail (or give PK_OK):
    ``method`` none / password / publickey / publickey_query; ``key`` a client key name or
    "unauthorized" (a fresh key the peer does not know). ``expect`` "failure" checks ``fields``
    of the USERAUTH_FAILURE; "pk_ok" waits for USERAUTH_PK_OK."""

    def __init__(self, method: str, password: str = "wrong-password", key: str = "ed25519",
                 expect: str = "failure", **fields: Any) -> None:  # fmt: skip
        self.method, self.password, self.key, self.expect, self.fields = method, password, key, expect, fields

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        info = ctx.info
        if self.key == "unauthorized":
            from harness.ssh.keys import Ed25519Key

            key = ctx.vars.setdefault("unauthorized_key", Ed25519Key.generate(ctx.rng.randbytes(32)))
        elif self.method in ("publickey", "publickey_query"):
            key = load_client_key(info, self.key)
        if self.method == "none":
            conn.auth.none(info.username)
        elif self.method == "password":
            conn.auth.password(info.username, self.password)
        elif self.method == "publickey":
            conn.auth.publickey(info.username, key)
        elif self.method == "publickey_query":
            conn.auth.publickey_query(info.username, key.get_name(), key.asbytes())
        else:
            raise ValueError(f"unknown auth method {self.method!r}")
        ctx.flush()
        if self.expect == "pk_ok":
            Expect(m.UserauthPkOk, **self.fields).run(ctx)
        else:
            Expect(m.UserauthFailure, **self.fields).run(ctx)

    def describe(self) -> str:
        return f"AuthAttempt({self.method}, expect {self.expect})"


class Grant(Step):
    """Tell the core the application consumed ``n`` bytes of a channel (window re-granted)."""

    def __init__(self, n: int, name: str = "ch") -> None:
        self.n, self.name = n, name

    def run(self, ctx: Context) -> None:
        _conn(ctx).channels.consumed(ctx.channels[self.name], self.n)
        ctx.flush()


class CheckReceived(Step):
    """So far exactly ``n`` bytes of stdout arrived on a channel (window and flow control checks)."""

    def __init__(self, n: int, name: str = "ch") -> None:
        self.n, self.name = n, name

    def run(self, ctx: Context) -> None:
        cid = ctx.channels[self.name]
        got = sum(len(e.data) for e in ctx.log if isinstance(e, ev.ChannelData) and e.channel == cid
                  and e.data_type == 0)  # fmt: skip
        if got != self.n:
            raise StepFailure(f"{ctx.step_label}: expected {self.n} bytes received on channel {self.name!r} "
                              f"so far; got {got} (phase: {ctx.phase()})")  # fmt: skip


class ExpectData(Step):
    """Wait until a channel's stdout satisfies ``check`` (a function of all bytes so far)."""

    def __init__(self, check: Callable[[bytes], bool], name: str = "ch", description: str = "data",
                 timeout: float | None = None) -> None:  # fmt: skip
        self.check, self.name, self.description, self.timeout = check, name, description, timeout

    def run(self, ctx: Context) -> None:
        cid = ctx.channels[self.name]
        start = ctx.expect_pos
        buf = bytearray()
        deadline = time.monotonic() + (self.timeout or ctx.timeout)
        index = start
        while True:
            while index < len(ctx.log):
                e = ctx.log[index]
                index += 1
                if isinstance(e, ev.ChannelData) and e.channel == cid and e.data_type == 0:
                    buf += e.data
                    if self.check(bytes(buf)):
                        ctx.expect_pos = index
                        return
            if ctx.closed or time.monotonic() >= deadline:
                raise ctx.fail(f"{self.description} on channel {self.name!r} (got {bytes(buf[:80])!r})", start)
            ctx.pump(deadline)

    def describe(self) -> str:
        return f"ExpectData({self.description})"


class EchoServer(Step):
    """A TCP echo service on 127.0.0.1 (for direct-tcpip); its port goes to Var(``var``)."""

    def __init__(self, var: str = "echo_port") -> None:
        self.var = var

    def run(self, ctx: Context) -> None:
        echo = EchoService()
        ctx.vars[self.var] = echo.port
        ctx.cleanups.append(echo.close)


class ShutdownWrite(Step):
    """Half-close our side of the TCP connection (the peer sees EOF)."""

    def run(self, ctx: Context) -> None:
        ctx.flush()
        if ctx.sock is not None:
            try:
                ctx.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        ctx.note("we half-closed the TCP stream")


class KexCount(Step):
    """At least ``n`` key exchanges completed on this connection (the first one included)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def run(self, ctx: Context) -> None:
        ctx.settle(0.05)
        count = _conn(ctx).kex.count
        if count < self.n:
            raise StepFailure(f"{ctx.step_label}: expected at least {self.n} completed key exchanges; got {count} "
                              f"(phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        return f"KexCount(>= {self.n})"


class FailUntilDisconnect(Step):
    """Repeat a failing authentication until the peer disconnects; it must within ``limit`` tries."""

    def __init__(self, method: str = "password", limit: int = 30, reason: Any = None) -> None:
        self.method, self.limit, self.reason = method, limit, reason

    def run(self, ctx: Context) -> None:
        for attempt in range(1, self.limit + 1):
            if ctx.closed or _conn(ctx).phase.value == "closed":
                break
            method = self.method
            if method == "auto":
                from harness.peers.registry import info_supports_password

                method = "password" if info_supports_password(ctx.info) else "publickey"
            try:
                AuthAttempt(method, key="unauthorized").run(ctx)
            except StepFailure:
                if self._closing(ctx):
                    break
                raise
            if self._closing(ctx):
                break
            ctx.vars["auth_attempts"] = attempt
        ExpectClose(self.reason).run(ctx)
        ctx.outcomes.append(f"closed after {ctx.vars.get('auth_attempts', 0)} failures")

    @staticmethod
    def _closing(ctx: Context) -> bool:
        return any(_fatal(e) for e in ctx.log[ctx.expect_pos :])

    def describe(self) -> str:
        return f"FailUntilDisconnect({self.method}, limit {self.limit})"
