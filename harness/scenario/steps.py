"""The step vocabulary: commands, sends, expectations, branches.

A scenario is a list of steps run in order against one :class:`Context`. Three kinds:

- **commands** do something and wait for the core's own confirmation (``Connect``,
  ``Handshake``, ``Authenticate``, ``Rekey``, ``OpenChannel``, ``Exec``, ``Echo``, ``Wait``,
  ``Tamper``...). High-level ones are compositions of low-level ones (``Login`` is
  ``Handshake`` + ``Authenticate``), so a scenario states only what is special about it.
- **sends** put a typed message (valid or not) on the wire through the core's unchecked seam,
  optionally damaged by tampers (``Send``, ``SendPayload``, ``SendRaw``).
- **expectations** wait for what the peer does (``Expect``, ``ExpectDisconnect``,
  ``ExpectClose``, ``ExpectNothing``) and ``OneOf`` for several acceptable outcomes.

Field values may be references resolved at run time: ``Local("ch")`` / ``Remote("ch")`` (our /
the peer's id of a named channel), ``SentSeq()`` (sequence number of the last packet we sent),
``Var("name")``. Expected field values may also be predicates (``Contains``, ``OneOfValues``,
any callable).
"""

from __future__ import annotations

import copy
import hashlib
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.scenario import tampers as tp
from harness.scenario.runner import Closed, Context, LocalError, StepFailure, reason_name
from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.phases import Role
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message, UnknownMessage

# Messages peers send unprompted; a lenient Expect skips them, ExpectNothing ignores them.
NOISE: tuple[type[Message], ...] = (m.Ignore, m.Debug, m.ExtInfo, m.ChannelWindowAdjust, m.UserauthBanner)


def our_algorithms(category: str) -> tuple[str, ...]:
    from harness.ssh.crypto.compression import COMPRESSIONS
    from harness.ssh.crypto.protection import CIPHERS, MACS
    from harness.ssh.kex.methods import KEX_METHODS
    from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

    return tuple({"kex": KEX_METHODS, "host_key": SUPPORTED_HOST_KEY_ALGORITHMS, "cipher": CIPHERS,
                  "mac": MACS, "compression": COMPRESSIONS}[category])  # fmt: skip


# == references and predicates ===========================================================


class Ref:
    def resolve(self, ctx: Context) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class Local(Ref):
    """Our id of the named channel."""

    name: str = "ch"

    def resolve(self, ctx: Context) -> int:
        return ctx.channels[self.name]


@dataclass(frozen=True)
class Remote(Ref):
    """The peer's id of the named channel (what goes in ``recipient`` of what we send)."""

    name: str = "ch"

    def resolve(self, ctx: Context) -> int:
        assert ctx.conn is not None
        chan = ctx.conn.channels.channels.get(ctx.channels[self.name])
        if chan is None or chan.remote_id is None:
            return ctx.vars.get(f"remote:{self.name}", 0)
        return chan.remote_id


@dataclass(frozen=True)
class SentSeq(Ref):
    """Sequence number of the last packet we sent (plus ``offset``)."""

    offset: int = 0

    def resolve(self, ctx: Context) -> int:
        assert ctx.last_sent_seq is not None
        return ctx.last_sent_seq + self.offset


@dataclass(frozen=True)
class Var(Ref):
    name: str

    def resolve(self, ctx: Context) -> Any:
        return ctx.vars[self.name]


@dataclass(frozen=True)
class Contains:
    """Expected value contains ``item`` (a name in a name-list, a substring of a text)."""

    item: Any

    def __call__(self, value: Any) -> bool:
        return self.item in value

    def __repr__(self) -> str:
        return f"contains {self.item!r}"


@dataclass(frozen=True)
class OneOfValues:
    values: tuple[Any, ...]

    def __call__(self, value: Any) -> bool:
        return value in self.values

    def __repr__(self) -> str:
        return f"one of {self.values!r}"


def _resolve(value: Any, ctx: Context) -> Any:
    return value.resolve(ctx) if isinstance(value, Ref) else value


def _value_matches(expected: Any, got: Any, ctx: Context) -> bool:
    expected = _resolve(expected, ctx)
    if callable(expected) and not isinstance(expected, type):
        return bool(expected(got))
    if isinstance(expected, list | tuple) and isinstance(got, list | tuple):
        return tuple(expected) == tuple(got)
    return bool(expected == got)


def _show_expected(value: Any, ctx: Context) -> str:
    try:
        value = _resolve(value, ctx)
    except (KeyError, AssertionError):
        pass
    return repr(value) if not callable(value) or isinstance(value, Contains | OneOfValues) else getattr(
        value, "__name__", "predicate")


# == the step base =======================================================================


class Step:
    """One step; ``run`` raises StepFailure with expected / got / phase when it fails."""

    def run(self, ctx: Context) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


def flatten(steps: Iterable[Any]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        if isinstance(step, list | tuple):
            out += flatten(step)
        else:
            out.append(step)
    return out


class Composite(Step):
    """A named sequence of steps (how high-level steps are built from low-level ones)."""

    def __init__(self, name: str, *steps: Any) -> None:
        self.name = name
        self.steps = flatten(steps)

    def run(self, ctx: Context) -> None:
        outer = ctx.step_label
        for index, step in enumerate(self.steps, 1):
            ctx.step_label = f"{outer} > {index}. {step.describe()}"
            step.run(ctx)
        ctx.step_label = outer

    def describe(self) -> str:
        return self.name


def past_consequences(ctx: Context, index: int) -> int:
    """The log index after a matched message and the core events its handler produced (so a
    later command does not mistake, e.g., that USERAUTH_FAILURE's AuthFailure for its own)."""
    index += 1
    while index < len(ctx.log) and not isinstance(ctx.log[index], ev.MessageReceived | Closed | LocalError):
        index += 1
    return index


def _fatal(e: ev.Event) -> bool:
    if isinstance(e, Closed | LocalError):
        return True
    return isinstance(e, ev.MessageReceived) and isinstance(e.message, m.Disconnect)


def await_event(ctx: Context, want: Callable[[ev.Event], bool], expected: str,
                timeout: float | None = None) -> ev.Event:  # fmt: skip
    """Wait for an event of the core (commands use this); a close or DISCONNECT fails early."""
    start = ctx.expect_pos
    hit = ctx.wait_for(lambda e: want(e) or _fatal(e), timeout, start)
    if hit is None or not want(hit[1]):
        raise ctx.fail(expected, start)
    ctx.expect_pos = hit[0] + 1
    return hit[1]


def _conn(ctx: Context):  # type: ignore[no-untyped-def]
    if ctx.conn is None:
        raise StepFailure(f"{ctx.step_label}: no connection (a Connect step must come first)")
    return ctx.conn


# == commands: connection ================================================================

ConfigValue = Any  # a value, or a callable(PeerInfo) -> value


def make_config(ctx: Context, overrides: dict[str, ConfigValue]) -> ConnectionConfig:
    cfg = ConnectionConfig()
    for key, value in overrides.items():
        if callable(value):
            value = value(ctx.info)
        if not hasattr(cfg, key):
            raise ValueError(f"ConnectionConfig has no option {key!r}")
        setattr(cfg, key, tuple(value) if isinstance(value, list) else value)
    return cfg


class Connect(Step):
    """Open TCP to the peer and (``start``) send our version line and KEXINIT.

    ``version``: our identification line (bytes without CR LF) instead of the default;
    ``kexinit``: a function (KexInit message, ctx) -> KexInit to hand-make our first KEXINIT;
    ``config``: ConnectionConfig options (values may be functions of the PeerInfo).
    """

    def __init__(self, start: bool = True, version: bytes | None = None,
                 kexinit: Callable[[Message, Context], Message] | None = None,
                 **config: ConfigValue) -> None:  # fmt: skip
        self.start, self.version, self.kexinit, self.config = start, version, kexinit, config

    def run(self, ctx: Context) -> None:
        cfg = make_config(ctx, self.config)
        if ctx.role == "server":
            ctx.target.configure(cfg)
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
        if method == "password":
            conn.auth.password(info.username, info.password)
        elif method == "publickey":
            conn.auth.publickey(info.username, load_client_key(info, self.key), self.algorithm)
        elif method == "keyboard-interactive":
            conn.auth.keyboard_interactive(info.username)
        else:
            raise ValueError(f"unknown auth method {method!r}")
        ctx.flush()
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
    """Escape hatch: ``fn(ctx)``. Prefer a named step when something is needed twice."""

    def __init__(self, fn: Callable[[Context], None], description: str = "Call") -> None:
        self.fn, self.description = fn, description

    def run(self, ctx: Context) -> None:
        self.fn(ctx)
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


# == commands: channels ==================================================================


class OpenChannel(Step):
    """CHANNEL_OPEN; ``expect`` "ok" (default), "fail" (with ``reason`` code), or None (no wait)."""

    def __init__(self, name: str = "ch", channel_type: str = "session", message: Message | None = None,
                 expect: str | None = "ok", reason: int | None = None) -> None:  # fmt: skip
        self.name, self.channel_type, self.message = name, channel_type, message
        self.expect, self.reason = expect, reason

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        msg = copy.copy(self.message) if self.message is not None else None
        if msg is not None:
            for fname, _ in msg.FIELDS:
                setattr(msg, fname, _resolve(getattr(msg, fname), ctx))
        cid = conn.channels.open(self.channel_type, msg)
        ctx.channels[self.name] = cid
        ctx.vars[f"opened_at:{self.name}"] = len(ctx.log)
        ctx.flush()
        if self.expect is None:
            return
        event = await_event(ctx, lambda e: isinstance(e, ev.ChannelOpened | ev.ChannelOpenFailed)
                            and e.channel == cid, f"an answer to CHANNEL_OPEN {self.channel_type!r}")  # fmt: skip
        if self.expect == "ok" and isinstance(event, ev.ChannelOpenFailed):
            raise StepFailure(f"{ctx.step_label}: expected CHANNEL_OPEN_CONFIRMATION; got CHANNEL_OPEN_FAILURE "
                              f"reason {event.reason} {event.description!r} (phase: {ctx.phase()})")  # fmt: skip
        if self.expect == "fail":
            if isinstance(event, ev.ChannelOpened):
                raise StepFailure(f"{ctx.step_label}: expected CHANNEL_OPEN_FAILURE; got CHANNEL_OPEN_CONFIRMATION "
                                  f"(phase: {ctx.phase()})")  # fmt: skip
            if self.reason is not None and event.reason != self.reason:
                raise StepFailure(f"{ctx.step_label}: expected CHANNEL_OPEN_FAILURE reason {self.reason}; got "
                                  f"reason {event.reason} {event.description!r} (phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        return f"OpenChannel({self.name!r}, {self.channel_type!r}, expect={self.expect!r})"


class Request(Step):
    """A CHANNEL_REQUEST on a named channel; ``expect`` True (SUCCESS), False (FAILURE), None (no wait)."""

    def __init__(self, message: Message, name: str = "ch", expect: bool | None = True) -> None:
        self.message, self.name, self.expect = message, name, expect

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        msg = copy.copy(self.message)
        msg.want_reply = self.expect is not None and msg.want_reply
        cid = ctx.channels[self.name]
        conn.channels.send_request(cid, msg)
        ctx.flush()
        if self.expect is None or not msg.want_reply:
            return
        event = await_event(ctx, lambda e: isinstance(e, ev.ChannelRequestReply) and e.channel == cid,
                            f"CHANNEL_{'SUCCESS' if self.expect else 'FAILURE'} for {msg.NAME}")  # fmt: skip
        if event.success != self.expect:
            got = "CHANNEL_SUCCESS" if event.success else "CHANNEL_FAILURE"
            raise StepFailure(f"{ctx.step_label}: expected CHANNEL_{'SUCCESS' if self.expect else 'FAILURE'} "
                              f"for {msg!r}; got {got} (phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        return f"Request({self.message.NAME}, expect={self.expect})"


def Exec(command: str, name: str = "ch", expect: bool | None = True) -> Request:  # noqa: N802
    return Request(m.ChannelRequestExec(want_reply=True, command=command.encode()), name, expect)


def Session(command: str | None = None, name: str = "ch") -> Composite:  # noqa: N802
    """Open a session channel (and exec ``command``)."""
    steps: list[Step] = [OpenChannel(name)]
    if command is not None:
        steps.append(Exec(command, name))
    return Composite(f"Session({command!r})", *steps)


class SendData(Step):
    """Send ``data`` (or that many seeded random bytes) on a channel, waiting for window as needed."""

    def __init__(self, data: bytes | int, name: str = "ch", data_type: int = 0, timeout: float = 30.0) -> None:
        self.data, self.name, self.data_type, self.timeout = data, name, data_type, timeout

    def run(self, ctx: Context) -> None:
        data = ctx.rng.randbytes(self.data) if isinstance(self.data, int) else self.data
        send_all(ctx, self.name, data, self.data_type, self.timeout)

    def describe(self) -> str:
        size = self.data if isinstance(self.data, int) else len(self.data)
        return f"SendData({size} bytes on {self.name!r})"


def send_all(ctx: Context, name: str, data: bytes, data_type: int = 0, timeout: float = 30.0) -> None:
    conn = _conn(ctx)
    cid = ctx.channels[name]
    digest = ctx.vars.setdefault(f"sent:{name}", hashlib.sha256())
    view = memoryview(data)
    sent = 0
    deadline = time.monotonic() + timeout
    while sent < len(data):
        n = conn.channels.send_data(cid, view[sent:], data_type)
        digest.update(view[sent : sent + n])
        sent += n
        ctx.flush()
        if sent < len(data):
            if ctx.closed or time.monotonic() > deadline:
                raise ctx.fail(f"window to send {len(data) - sent} more of {len(data)} bytes", ctx.expect_pos)
            ctx.pump(min(deadline, time.monotonic() + 0.2))


@dataclass
class ChannelOutput:
    stdout: bytes = b""
    stderr: bytes = b""
    exit_status: int | None = None
    exit_signal: str | None = None
    eof: bool = False
    closed: bool = False
    requests: list[str] = field(default_factory=list)


def collect_output(ctx: Context, name: str, until: str, timeout: float, start: int,
                   nbytes: int | None = None) -> ChannelOutput:  # fmt: skip
    """Gather a channel's data/requests from log index ``start`` until close, eof or ``nbytes``."""
    cid = ctx.channels[name]
    out = ChannelOutput()
    stdout, stderr = bytearray(), bytearray()
    index = start
    deadline = time.monotonic() + timeout
    while True:
        while index < len(ctx.log):
            e = ctx.log[index]
            index += 1
            if isinstance(e, ev.ChannelData) and e.channel == cid:
                (stderr if e.data_type == 1 else stdout).extend(e.data)
            elif isinstance(e, ev.ChannelRequestReceived) and e.channel == cid:
                out.requests.append(e.request_type)
                if isinstance(e.message, m.ChannelRequestExitStatus):
                    out.exit_status = e.message.status
                elif isinstance(e.message, m.ChannelRequestExitSignal):
                    out.exit_signal = e.message.signal
            elif isinstance(e, ev.ChannelEof) and e.channel == cid:
                out.eof = True
            elif isinstance(e, ev.ChannelClosed) and e.channel == cid:
                out.closed = True
        out.stdout, out.stderr = bytes(stdout), bytes(stderr)
        done = {"close": out.closed, "eof": out.eof or out.closed,
                "bytes": nbytes is not None and len(stdout) >= nbytes}[until]  # fmt: skip
        if done or ctx.closed or time.monotonic() >= deadline:
            ctx.expect_pos = max(ctx.expect_pos, index)
            return out
        ctx.pump(deadline)


class ExpectOutput(Step):
    """Read a channel until it closes (or EOF) and check stdout, stderr, exit status or signal."""

    def __init__(self, name: str = "ch", stdout: Any = None, stderr: Any = None, exit_status: Any = None,
                 exit_signal: Any = None, until: str = "close", timeout: float | None = None) -> None:  # fmt: skip
        self.name, self.until, self.timeout = name, until, timeout
        self.checks = {"stdout": stdout, "stderr": stderr, "exit_status": exit_status, "exit_signal": exit_signal}

    def run(self, ctx: Context) -> None:
        start = min(ctx.expect_pos, ctx.vars.get(f"opened_at:{self.name}", ctx.expect_pos))
        out = collect_output(ctx, self.name, self.until, self.timeout or max(ctx.timeout, 10.0), start)
        ctx.vars[f"output:{self.name}"] = out
        if not (out.closed if self.until == "close" else (out.eof or out.closed)):
            raise ctx.fail(f"channel {self.name!r} to reach {self.until.upper()} "
                           f"(so far: {len(out.stdout)} bytes stdout, requests {out.requests})", start)  # fmt: skip
        for key, want in self.checks.items():
            if want is None:
                continue
            got = getattr(out, key)
            if not _value_matches(want, got, ctx):
                raise StepFailure(f"{ctx.step_label}: expected {key} {_show_expected(want, ctx)}; got {got!r} "
                                  f"(channel {self.name!r}; requests seen: {out.requests}; "
                                  f"phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        checks = ", ".join(f"{k}={v!r}" for k, v in self.checks.items() if v is not None)
        return f"ExpectOutput({self.name!r}, {checks})"


class Echo(Step):
    """Send ``size`` seeded random bytes on a channel running ``cat`` and check the echo (SHA-256)."""

    def __init__(self, size: int, name: str = "ch", timeout: float = 60.0, during: Sequence[Step] = (),
                 at: int | None = None) -> None:  # fmt: skip
        self.size, self.name, self.timeout = size, name, timeout
        self.during, self.at = flatten(during), at  # steps run once ``at`` bytes have been sent

    def run(self, ctx: Context) -> None:
        data = ctx.rng.randbytes(self.size)
        start = len(ctx.log)
        if self.during:
            at = self.size // 2 if self.at is None else self.at
            send_all(ctx, self.name, data[:at], timeout=self.timeout)
            for step in self.during:
                step.run(ctx)
            send_all(ctx, self.name, data[at:], timeout=self.timeout)
        else:
            send_all(ctx, self.name, data, timeout=self.timeout)
        out = collect_output(ctx, self.name, "bytes", self.timeout, start, self.size)
        if len(out.stdout) < self.size:
            raise ctx.fail(f"{self.size} bytes echoed on channel {self.name!r}; {len(out.stdout)} came back",
                           ctx.expect_pos)  # fmt: skip
        if hashlib.sha256(out.stdout[: self.size]).digest() != hashlib.sha256(data).digest():
            raise StepFailure(f"{ctx.step_label}: the echo of {self.size} bytes differs from what was sent "
                              f"(phase: {ctx.phase()})")  # fmt: skip

    def describe(self) -> str:
        extra = f", during={[s.describe() for s in self.during]}" if self.during else ""
        return f"Echo({self.size} bytes on {self.name!r}{extra})"


class SendEof(Step):
    def __init__(self, name: str = "ch") -> None:
        self.name = name

    def run(self, ctx: Context) -> None:
        _conn(ctx).channels.send_eof(ctx.channels[self.name])
        ctx.flush()


class CloseChannel(Step):
    """Send CHANNEL_CLOSE; ``wait`` for the peer's CLOSE in reply."""

    def __init__(self, name: str = "ch", wait: bool = True) -> None:
        self.name, self.wait = name, wait

    def run(self, ctx: Context) -> None:
        cid = ctx.channels[self.name]
        _conn(ctx).channels.close(cid)
        ctx.flush()
        if self.wait:
            await_event(ctx, lambda e: isinstance(e, ev.ChannelClosed) and e.channel == cid,
                        f"CHANNEL_CLOSE for channel {self.name!r}", None)  # fmt: skip


class GlobalRequest(Step):
    """Send a GLOBAL_REQUEST through the core; ``expect`` True/False (reply) or None (no reply wanted)."""

    def __init__(self, name: str, data: bytes = b"", expect: bool | None = False,
                 check_data: Callable[[bytes], bool] | None = None) -> None:  # fmt: skip
        self.name, self.data, self.expect, self.check_data = name, data, expect, check_data

    def run(self, ctx: Context) -> None:
        token = _conn(ctx).global_request(self.name, self.expect is not None, self.data)
        ctx.flush()
        if self.expect is None:
            return
        want = "REQUEST_SUCCESS" if self.expect else "REQUEST_FAILURE"
        event = await_event(ctx, lambda e: isinstance(e, ev.GlobalReply) and e.token == token,
                            f"{want} to GLOBAL_REQUEST {self.name!r}")  # fmt: skip
        if event.success != self.expect:
            got = "REQUEST_SUCCESS" if event.success else "REQUEST_FAILURE"
            raise StepFailure(f"{ctx.step_label}: expected {want}; got {got} (phase: {ctx.phase()})")
        ctx.vars[f"reply:{self.name}"] = event.data
        if self.check_data is not None and not self.check_data(event.data):
            raise StepFailure(f"{ctx.step_label}: REQUEST_SUCCESS data {event.data!r} fails the check")

    def describe(self) -> str:
        return f"GlobalRequest({self.name!r}, expect={self.expect})"


# == sends ===============================================================================


class Send(Step):
    """Send a typed message now through the unchecked seam (no phase rules, no kex deferral).

    Field values may be references (``Remote("ch")``...). ``tampers`` damage this one message:
    message/payload tampers before framing, packet/wire tampers on its packet."""

    def __init__(self, message: Message | Callable[[Context], Message], *tampers: tp.Tamper) -> None:
        self.message, self.tampers = message, tampers

    def build(self, ctx: Context) -> Message:
        msg = self.message(ctx) if callable(self.message) and not isinstance(self.message, Message) else \
            copy.copy(self.message)  # fmt: skip
        if not isinstance(msg, UnknownMessage):
            for name, _ in msg.FIELDS:
                value = getattr(msg, name)
                if isinstance(value, Ref):
                    setattr(msg, name, value.resolve(ctx))
        return msg

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        msg = self.build(ctx)
        for t in self.tampers:
            if t.layer == "message":
                msg = t.apply(msg)  # type: ignore[attr-defined]
        payload = msg.encode()
        for t in self.tampers:
            if t.layer == "payload":
                payload = t.apply(payload)  # type: ignore[attr-defined]
        for t in self.tampers:
            if t.layer in ("packet", "wire"):
                _arm_writer(ctx, conn.writer, copy.copy(t))
            elif t.layer == "stream":
                ctx.stream_tampers.append(copy.copy(t))
        conn.send_unchecked(payload)
        ctx.flush()

    def describe(self) -> str:
        msg = self.message
        name = msg.NAME if isinstance(msg, Message) and not isinstance(msg, UnknownMessage) else (
            f"message {msg.msg_id}" if isinstance(msg, UnknownMessage) else "message")  # fmt: skip
        extra = "".join(f", {t.describe()}" for t in self.tampers)
        return f"Send({name}{extra})"


class SendPayload(Step):
    """Send raw payload bytes framed as one packet (unchecked)."""

    def __init__(self, payload: bytes, *tampers: tp.Tamper) -> None:
        self.payload, self.tampers = payload, tampers

    def run(self, ctx: Context) -> None:
        conn = _conn(ctx)
        for t in self.tampers:
            _arm_writer(ctx, conn.writer, copy.copy(t))
        conn.send_unchecked(self.payload)
        ctx.flush()

    def describe(self) -> str:
        return f"SendPayload({self.payload[:16].hex()}{'...' if len(self.payload) > 16 else ''})"


class SendRaw(Step):
    """Put bytes on the wire as they are (version-line games, garbage, a truncated packet)."""

    def __init__(self, data: bytes | Callable[[Context], bytes]) -> None:
        self.data = data

    def run(self, ctx: Context) -> None:
        data = self.data(ctx) if callable(self.data) else self.data
        _conn(ctx).send_raw(data)
        ctx.transcript.add(">>", f"raw {len(data)} bytes: {data[:80]!r}{'...' if len(data) > 80 else ''}")
        ctx.flush()

    def describe(self) -> str:
        return "SendRaw(...)" if callable(self.data) else f"SendRaw({len(self.data)} bytes)"


# == expectations ========================================================================


class ExpectStep(Step):
    """Base of steps that match one incoming item (usable as the head of a OneOf branch)."""

    timeout: float | None = None

    def matches(self, ctx: Context, e: ev.Event) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def expected(self, ctx: Context) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def stops(self, ctx: Context, e: ev.Event) -> bool:
        """An item that ends the wait unsuccessfully (default: close / DISCONNECT / our core's refusal)."""
        return _fatal(e)

    def after(self, ctx: Context, e: ev.Event) -> None:
        """Extra checks once matched."""

    def run(self, ctx: Context) -> None:
        start = ctx.expect_pos
        hit = ctx.wait_for(lambda e: self.matches(ctx, e) or self.stops(ctx, e), self.timeout, start)
        if hit is None or not self.matches(ctx, hit[1]):
            waited = self.timeout if self.timeout is not None else ctx.timeout
            extra = "" if hit is not None or ctx.closed else f"then nothing for {waited:g} s"
            raise ctx.fail(self.expected(ctx), start, extra)
        ctx.expect_pos = past_consequences(ctx, hit[0])
        self.after(ctx, hit[1])


class Expect(ExpectStep):
    """Wait for a message of class ``cls`` whose fields match ``fields``.

    Lenient by default: other messages may come first (they are listed if it fails). With
    ``strict`` the next message other than IGNORE/DEBUG/EXT_INFO/WINDOW_ADJUST must match."""

    def __init__(self, cls: type[Message] | int, timeout: float | None = None, strict: bool = False,
                 **fields: Any) -> None:  # fmt: skip
        self.cls, self.timeout, self.strict, self.fields = cls, timeout, strict, fields

    def _is_type(self, msg: Message) -> bool:
        if isinstance(self.cls, int):
            return self.cls == msg.ID
        return isinstance(msg, self.cls)

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        if not isinstance(e, ev.MessageReceived) or not self._is_type(e.message):
            return False
        return all(_value_matches(want, getattr(e.message, k, None), ctx) for k, want in self.fields.items())

    def stops(self, ctx: Context, e: ev.Event) -> bool:
        if _fatal(e):
            return True
        return self.strict and isinstance(e, ev.MessageReceived) and not isinstance(e.message, NOISE)

    def expected(self, ctx: Context) -> str:
        name = m.message_name(self.cls) if isinstance(self.cls, int) else self.cls.NAME
        if self.fields:
            name += "(" + ", ".join(f"{k} {_show_expected(v, ctx)}" for k, v in self.fields.items()) + ")"
        return name

    def describe(self) -> str:
        name = m.message_name(self.cls) if isinstance(self.cls, int) else self.cls.NAME
        return f"Expect({name}{', strict' if self.strict else ''})"


class ExpectDisconnect(ExpectStep):
    """Wait for a DISCONNECT (with ``reason`` code and ``text`` in its description, if given)."""

    def __init__(self, reason: int | Sequence[int] | None = None, text: str | None = None,
                 timeout: float | None = None) -> None:  # fmt: skip
        self.reason = (reason,) if isinstance(reason, int) else (tuple(reason) if reason else None)
        self.text, self.timeout = text, timeout

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        if not (isinstance(e, ev.MessageReceived) and isinstance(e.message, m.Disconnect)):
            return False
        if self.reason is not None and e.message.reason not in self.reason:
            return False
        return self.text is None or self.text in e.message.description

    def expected(self, ctx: Context) -> str:
        text = "DISCONNECT"
        if self.reason:
            text += " with reason " + " or ".join(reason_name(r) for r in self.reason)
        if self.text:
            text += f" mentioning {self.text!r}"
        return text

    def describe(self) -> str:
        return f"ExpectDisconnect({self.reason or ''})"


class ExpectClose(ExpectStep):
    """The peer ends the connection: a DISCONNECT (with ``reason`` if given) or the stream closing."""

    def __init__(self, reason: int | Sequence[int] | None = None, timeout: float | None = None,
                 require_disconnect: bool = False) -> None:  # fmt: skip
        self.disconnect = ExpectDisconnect(reason)
        self.timeout, self.require_disconnect = timeout, require_disconnect

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        if isinstance(e, Closed):
            return not self.require_disconnect
        return self.disconnect.matches(ctx, e)

    def stops(self, ctx: Context, e: ev.Event) -> bool:
        # Our core refusing the peer's bytes (garbage before closing) is not what is tested here.
        return isinstance(e, Closed) or (isinstance(e, ev.MessageReceived) and isinstance(e.message, m.Disconnect))

    def expected(self, ctx: Context) -> str:
        alt = "" if self.require_disconnect else " or the connection closing"
        return self.disconnect.expected(ctx) + alt

    def describe(self) -> str:
        return f"ExpectClose({self.disconnect.reason or ''})"


class ExpectNothing(Step):
    """For ``seconds``, nothing but IGNORE/DEBUG/WINDOW_ADJUST (and ``allow``) arrives, and the
    connection stays open."""

    def __init__(self, seconds: float = 1.0, allow: tuple[type[Message], ...] = ()) -> None:
        self.seconds, self.allow = seconds, allow

    def run(self, ctx: Context) -> None:
        start = ctx.expect_pos
        allowed = NOISE + self.allow

        def bad(e: ev.Event) -> bool:
            if isinstance(e, Closed | LocalError):
                return True
            return isinstance(e, ev.MessageReceived) and not isinstance(e.message, allowed)

        hit = ctx.wait_for(bad, self.seconds, start)
        if hit is not None:
            raise ctx.fail(f"nothing for {self.seconds:g} s", start)
        ctx.expect_pos = len(ctx.log)

    def describe(self) -> str:
        return f"ExpectNothing({self.seconds:g} s)"


class OneOf(Step):
    """Several acceptable outcomes: each branch is a list of steps whose first is an expectation.

    The first branch whose head matches the next relevant item is taken; its name is recorded
    as the scenario's outcome (shown per peer in the report)."""

    def __init__(self, timeout: float | None = None, **branches: Sequence[Any]) -> None:
        self.timeout = timeout
        self.branches = {name: flatten(steps) for name, steps in branches.items()}
        for name, steps in self.branches.items():
            if not steps or not isinstance(steps[0], ExpectStep):
                raise TypeError(f"OneOf branch {name!r} must start with an expectation step")

    def run(self, ctx: Context) -> None:
        start = ctx.expect_pos
        heads = [(name, steps[0]) for name, steps in self.branches.items()]

        def any_match(e: ev.Event) -> bool:
            return any(head.matches(ctx, e) for _, head in heads)

        def stop(e: ev.Event) -> bool:
            return any_match(e) or all(head.stops(ctx, e) for _, head in heads)

        hit = ctx.wait_for(stop, self.timeout, start)
        if hit is None or not any_match(hit[1]):
            alts = " | ".join(f"{name}: {head.expected(ctx)}" for name, head in heads)
            raise ctx.fail(f"one of [{alts}]", start)
        index, event = hit
        name, head = next((n, h) for n, h in heads if h.matches(ctx, event))
        ctx.outcomes.append(name)
        ctx.note(f"outcome: {name}")
        ctx.expect_pos = past_consequences(ctx, index)
        head.after(ctx, event)
        label = ctx.step_label
        for i, step in enumerate(self.branches[name][1:], 2):
            ctx.step_label = f"{label} > {name} {i}. {step.describe()}"
            step.run(ctx)
        ctx.step_label = label

    def describe(self) -> str:
        return "OneOf(" + ", ".join(self.branches) + ")"


class ExpectKexComplete(ExpectStep):
    """Head-of-branch form of WaitKex (e.g. "the handshake completes" as one acceptable outcome)."""

    def __init__(self, timeout: float | None = 20.0) -> None:
        self.timeout = timeout

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        return isinstance(e, ev.KexComplete)

    def expected(self, ctx: Context) -> str:
        return "the key exchange to complete"


class ExpectEvent(ExpectStep):
    """Head-of-branch match on any core event by type (e.g. ev.AuthFailure) and attributes."""

    def __init__(self, cls: type, timeout: float | None = None, **attrs: Any) -> None:
        self.cls, self.timeout, self.attrs = cls, timeout, attrs

    def matches(self, ctx: Context, e: ev.Event) -> bool:
        return isinstance(e, self.cls) and all(_value_matches(v, getattr(e, k, None), ctx)
                                               for k, v in self.attrs.items())  # fmt: skip

    def expected(self, ctx: Context) -> str:
        return f"{self.cls.__name__}({', '.join(f'{k}={v!r}' for k, v in self.attrs.items())})"

    def describe(self) -> str:
        return f"ExpectEvent({self.cls.__name__})"


def Alive(timeout: float | None = None) -> Composite:  # noqa: N802
    """The connection still works: a DEBUG-free IGNORE is harmless; a fresh session runs `true`."""
    return Composite("Alive", Session("true", name="_alive"), ExpectOutput("_alive", exit_status=0,
                                                                           timeout=timeout))  # fmt: skip


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
        import threading

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        ctx.vars[self.var] = listener.getsockname()[1]

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    while data := conn.recv(65536):
                        conn.sendall(data)

        threading.Thread(target=serve, daemon=True).start()
        ctx.cleanups.append(listener.close)


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
        return any(_fatal(e) for e in ctx.log[ctx.expect_pos:])

    def describe(self) -> str:
        return f"FailUntilDisconnect({self.method}, limit {self.limit})"
