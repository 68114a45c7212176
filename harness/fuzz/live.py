"""Live-peer fuzzing: mutate what *our* side sends to a real OpenSSH or Dropbear and watch the peer.

The atheris targets fuzz our parsers against recordings; this fuzzes the peer. Each iteration
is a short scenario run by the scenario engine (:mod:`harness.scenario`): the normal steps up to
a *point* of the protocol (identification line, KEXINIT, key exchange, user authentication,
connection layer), then one send damaged through the engine's own tamper seams
(:mod:`harness.scenario.tampers`: message fields, payload bytes, plaintext packet fields,
ciphertext and MAC, TCP write pattern), then a short wait for the peer's reaction. Nothing here
frames or damages bytes by itself: the mutation *is* a list of tampers on a ``Send`` step.

The oracle is on the peer, checked after every iteration:

- **crash**: the container exited, or nothing listens any more (a fresh connection is refused);
- **hang**: a fresh connection's identification line does not arrive within ``probe_timeout``;
- **report**: the peer's log (or the kernel log) gained a sanitizer report, a segfault, an
  abort, a "killed by signal" or a memory-corruption message since the iteration started.

What the peer does *to the damaged connection* is not judged: a DISCONNECT, a closed
connection, an answer, or silence (a server waiting for the rest of a packet whose length we
inflated is right to wait) are all expected reactions to garbage. A finding is written to
``results/live-fuzz/<peer>/<n>/`` (``finding.json``: peer, seed, iteration, the mutation, the
evidence; ``transcript.txt``: the decoded conversation; ``sent.bin``/``received.bin`` and
``wire.txt``: the exact bytes both ways), and the peer is restarted before the run goes on.

Reproducibility: iteration ``i`` of a run with seed ``S`` draws everything (the point, the
message, the tampers, our own connection's randomness) from ``Random(f"{S}:{i}")``, so
``harness fuzz --live-replay DIR`` regenerates the same mutation at the same point from the
finding's seed and iteration and sends it to a fresh peer. The damaged bytes after the key
exchange differ between runs only where the peer's own randomness (its kex keys) enters.
"""

from __future__ import annotations

import copy
import json
import random
import re
import socket
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.resources import work_root
from harness.scenario import steps as st
from harness.scenario import tampers as tp
from harness.scenario.runner import Closed, Context, LocalError, StepFailure
from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.connection import Connection
from harness.ssh.phases import Role
from harness.ssh.wire import fields as f
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

ROOT = work_root()
FINDINGS = ROOT / "results" / "live-fuzz"  # git-ignored, like campaign corpora
POINTS = ("version", "kexinit", "kex", "userauth", "channel")
FAST_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256")
OUR_VERSION = b"SSH-2.0-harness_livefuzz"
# Log lines that mean the peer (or a child of it) died abnormally. OpenSSH's plain "fatal:" is
# NOT here: sshd's per-connection process ends every protocol error with a fatal() line
# (ssh_dispatch_run_fatal: "message authentication code incorrect", "Bad packet length" ...):
# that is the expected answer to garbage, not a crash.
CRASH_PATTERNS = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|MemorySanitizer|runtime error:|"
    r"Segmentation fault|segfault|SIGSEGV|SIGABRT|SIGBUS|SIGILL|signal (6|11)\b|killed by signal|"
    r"core dumped|stack smashing|double free|free\(\): invalid|malloc\(\): |corrupted (size|double)|"
    r"Assertion .* failed|fatal: .*(xmalloc|xcalloc|xrealloc|out of memory)",
    re.IGNORECASE,
)
# Processes whose kernel segfault lines (dmesg) count: the servers and what they run for us.
PEER_PROCESSES = ("sshd", "sshd-session", "sshd-auth", "dropbear", "sftp-server", "tinysshd")


# -- mutations --------------------------------------------------------------------------------------


@dataclass
class Mutation:
    """What one iteration damages: where (point), which message, with which tampers."""

    point: str
    message: str
    layers: list[str]
    tampers: list[str]

    def describe(self) -> str:
        return f"{self.point}: {self.message} with {', '.join(self.tampers) or 'no tamper'}"


_INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 35000, 0x7FFFFFFF,
                    0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)  # fmt: skip
_INTERESTING_BYTES = (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00",
                      b"\x00\x00\x01\x00", b"\x00", b"\xff")  # fmt: skip


def _value_for(kind: f.Kind, rng: random.Random) -> Any:
    """A hostile value of a field's kind (for the message-level SetField tamper)."""
    if kind in (f.U32, f.U64):
        return rng.choice(_INTERESTING_U32)
    if kind is f.BOOL:
        return rng.random() < 0.5
    if kind is f.BYTE:
        return rng.randrange(256)
    if kind in (f.TEXT, f.DISCRIMINATOR):
        return rng.choice(["", "x" * rng.choice((1, 255, 256, 4096, 40000)), "none", "\u00e9" * 100,
                           "a,b,,c", "ssh-rsa", "session", "exec"])  # fmt: skip
    if kind is f.NAMES:
        return rng.choice([(), ("x" * 300,), tuple(f"n{i}" for i in range(rng.choice((64, 1000)))),
                           ("curve25519-sha256",) * 3, ("none",)])  # fmt: skip
    if isinstance(kind, f.Raw):  # fixed-size bytes (the KEXINIT cookie): only the contents can lie
        return rng.randbytes(kind.size)
    if kind is f.MPINT:
        return rng.choice([0, -1, 1, 2**2048 - 1, -(2**4096)])
    return rng.randbytes(rng.choice((0, 1, 31, 32, 33, 255, 4096)))


def _payload_tampers(rng: random.Random, length: int) -> list[tp.Tamper]:
    """1-3 byte-level edits of a payload of ``length`` bytes: flips first, then a cut, then an append
    (in that order every offset stays inside the payload)."""
    out: list[tp.Tamper] = []
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(3)
        if op == 0 and length > 1:
            out.append(tp.FlipByte(rng.randrange(1, length), rng.choice((0x01, 0x80, 0xFF, rng.randrange(1, 256)))))
        elif op == 1 and length > 1:
            out.append(tp.Truncate(rng.randrange(1, length)))
        else:
            out.append(tp.Append(rng.choice((*_INTERESTING_BYTES, rng.randbytes(rng.choice((1, 16, 300)))))))
    order = {tp.FlipByte: 0, tp.Truncate: 1, tp.Append: 2}
    return sorted(out, key=lambda t: order[type(t)])


def _transport_tamper(rng: random.Random, layer: str) -> tp.Tamper:
    if layer == "packet":
        if rng.random() < 0.6:
            return tp.PacketLength(rng.choice((*_INTERESTING_U32, rng.randrange(1, 70000))))
        return tp.PaddingLength(rng.choice((0, 1, 3, 4, 5, 255, rng.randrange(256))))
    if layer == "wire":
        if rng.random() < 0.5:
            return tp.FlipMac(1 << rng.randrange(8))
        return tp.FlipCiphertext(rng.randrange(0, 64), 1 << rng.randrange(8))
    choice = rng.randrange(3)
    if choice == 0:
        return tp.SplitWrites(rng.choice((1, 2, 3, 7)))
    if choice == 1:
        return tp.Reorder(rng.randrange(1, 24))
    return tp.Drop(rng.randrange(0, 40), rng.choice((1, 4, 16, None)))


def _kexinit(rng: random.Random) -> Message:
    """Our normal first KEXINIT, made by the core from the iteration's randomness (static, so its
    length is known when the payload tampers are chosen)."""
    return Connection(Role.CLIENT, random.Random(rng.random()).randbytes, ConnectionConfig()).kex.build_kexinit()


def _messages(point: str, rng: random.Random, info: Any) -> list[Message]:
    """Candidate messages to damage at ``point`` (recipient fields of channel messages are our channel)."""
    user, password = getattr(info, "username", "root"), getattr(info, "password", "")
    if point == "kexinit":
        return [_kexinit(rng)]
    if point == "kex":
        return [m.KexEcdhInit(client_public=rng.randbytes(rng.choice((0, 31, 32, 33, 65, 97)))),
                m.KexdhInit(e=rng.choice((0, 1, 2**2047 + 1))), m.NewKeys(),
                m.KexGexRequest(min=rng.choice((0, 1024, 8192)), n=rng.choice((0, 2048, 100000)),
                                max=8192)]  # fmt: skip
    if point == "userauth":
        return [m.ServiceRequest(service="ssh-userauth"), m.ServiceRequest(service="ssh-connection"),
                m.UserauthRequestNone(user=user, service="ssh-connection"),
                m.UserauthRequestPassword(user=user, service="ssh-connection", change=False, password=password),
                m.UserauthRequestKeyboardInteractive(user=user, service="ssh-connection", language="",
                                                     submethods="")]  # fmt: skip
    ch = st.Remote("ch")
    return [m.ChannelRequestExec(recipient=ch, want_reply=True, command=b"true"),
            m.ChannelRequestPty(recipient=ch, want_reply=True, term="xterm", width_chars=80, height_rows=24,
                                width_pixels=0, height_pixels=0, modes=b"\x00"),
            m.ChannelRequestEnv(recipient=ch, want_reply=True, name="LANG", value="C"),
            m.ChannelRequestSubsystem(recipient=ch, want_reply=True, subsystem="sftp"),
            m.ChannelRequestWindowChange(recipient=ch, want_reply=False, width_chars=80, height_rows=24,
                                         width_pixels=0, height_pixels=0),
            m.ChannelData(recipient=ch, data=b"hello"), m.ChannelWindowAdjust(recipient=ch, bytes_to_add=1024),
            m.ChannelEof(recipient=ch), m.ChannelClose(recipient=ch),
            m.ChannelOpenSession(sender=7, initial_window=65536, max_packet=32768),
            m.ChannelOpenDirectTcpip(sender=8, initial_window=65536, max_packet=32768, address="127.0.0.1", port=1,
                                     originator_address="127.0.0.1", originator_port=2),
            m.GlobalRequestKeepalive(want_reply=True),
            m.GlobalRequestTcpipForward(want_reply=True, address="127.0.0.1", port=0)]  # fmt: skip


def _encoded_length(msg: Message) -> int:
    probe = Message.__new__(type(msg))
    probe.__dict__.update({k: (0 if isinstance(v, st.Ref) else v) for k, v in msg.values().items()})
    return len(probe.encode())


def _login_key(info: Any) -> str:
    """The client key a key-only login uses: Ed25519 as in the scenarios, else the first key the user
    gave (``--live ssh://... --identity`` of another type). Not drawn from the rng: replays stay equal."""
    keys = getattr(info, "client_keys", None) or {}
    return "ed25519" if "ed25519" in keys or not keys else next(iter(keys))


def plan_iteration(rng: random.Random, info: Any) -> tuple[list[st.Step], Mutation]:
    """The steps of one iteration (normal prefix, the damaged send) and what it damages."""
    point = rng.choice(POINTS)
    if point == "version":
        line = OUR_VERSION + b"\r\n"
        tampers = _payload_tampers(rng, len(line))
        if rng.random() < 0.3:  # lines before the identification (RFC 4253 4.2 lets servers send them)
            tampers.insert(0, tp.Append(b"\r\n" + rng.randbytes(rng.choice((10, 300, 9000)))))
        data = line
        for t in tampers:
            data = t.apply(data)  # type: ignore[attr-defined]
        steps: list[st.Step] = [st.Connect(start=False), st.SendRaw(data)]
        return steps, Mutation(point, "identification line", ["raw"], [t.describe() for t in tampers])
    # Mostly fast key exchanges (the pure-Python post-quantum ones cost ~100 ms per connection,
    # which would halve the rate of iterations that mutate later points); sometimes our defaults.
    kex = {"kex": FAST_KEX} if rng.random() < 0.8 else {}
    prefix: list[st.Step] = {
        "kexinit": [st.Connect(start=False, **kex), st.SendVersion()],
        "kex": [st.Connect(start=False, **kex), st.SendVersion(), st.StartKex()],
        "userauth": [st.Handshake(**kex)],
        "channel": [st.Login(key=_login_key(info), **kex), st.OpenChannel("ch")],
    }[point]
    layer = rng.choice(("message", "payload", "payload", "packet", "wire", "stream", "random"))
    if point == "kex" and layer in ("packet", "wire", "stream") and rng.random() < 0.5:
        # Damage the key exchange message the core sends by itself when the peer's KEXINIT arrives.
        tamper = _transport_tamper(rng, layer)
        steps = [*prefix, st.Tamper(tamper)]
        return steps, Mutation(point, "our automatic KEX_ECDH_INIT", [layer], [tamper.describe()])
    if layer == "random":  # a payload of random bytes under a message number of this layer
        low, high = {"kexinit": (1, 49), "kex": (20, 49), "userauth": (1, 79), "channel": (1, 127)}[point]
        payload = bytes([rng.randint(low, high)]) + rng.randbytes(rng.choice((0, 1, 4, 13, 100, 2000)))
        return [*prefix, st.SendPayload(payload)], Mutation(point, f"random payload {payload[:8].hex()}...",
                                                            ["payload"], [f"{len(payload)} random bytes"])  # fmt: skip
    msg = rng.choice(_messages(point, rng, info))
    tampers: list[tp.Tamper]
    if layer == "message":
        tampers = _field_tampers(rng, msg)
    elif layer == "payload":
        tampers = list(_payload_tampers(rng, _encoded_length(msg)))
    else:
        tampers = [_transport_tamper(rng, layer)]
    steps = [*prefix, st.Send(msg, *tampers)]
    return steps, Mutation(point, msg.NAME, [layer], [_short(t.describe()) for t in tampers])


def _field_tampers(rng: random.Random, msg: Message) -> list[tp.Tamper]:
    """A ``SetField`` with a hostile value our encoder can still write (a lie on the wire, not a
    harness error): up to a few draws, else none (the message goes out undamaged)."""
    names = [(n, k) for n, k in msg.FIELDS if k is not f.DISCRIMINATOR or rng.random() < 0.2]
    for _ in range(4):
        if not names:
            break
        name, kind = rng.choice(names)
        tamper = tp.SetField(name, _value_for(kind, rng))
        try:
            _encoded_length(tamper.apply(copy.copy(msg)))
        except (ValueError, TypeError, OverflowError, UnicodeError, struct.error):
            continue
        return [tamper]
    return []


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# -- the peer ---------------------------------------------------------------------------------------


class _RecordingSocket(socket.socket):
    """A TCP socket that keeps every byte sent and received, in order (the finding's wire record)."""

    def record_init(self) -> None:
        self.wire: list[tuple[str, bytes]] = []

    def sendall(self, data: Any, flags: int = 0) -> None:  # type: ignore[override]
        self.wire.append((">>", bytes(data)))
        super().sendall(data, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        self.wire.append(("<<", data))
        return data


class _RecordingConnect(st.Connect):
    """``Connect`` over a :class:`_RecordingSocket` (the engine's step, with the socket made here)."""

    def run(self, ctx: Context) -> None:
        sock = _RecordingSocket(socket.AF_INET, socket.SOCK_STREAM)
        sock.record_init()
        sock.settimeout(ctx.timeout)
        try:
            sock.connect(ctx.info.address)
        except OSError as exc:
            sock.close()
            raise StepFailure(f"cannot connect to {ctx.info.address}: {exc}") from exc
        ctx.vars["wire"] = sock.wire
        ctx.new_connection(st.make_config(ctx, self.config), sock)
        ctx.note(f"connected to {ctx.info.peer_id}; seed {ctx.seed}")
        if self.start:
            st.StartKex(self.kexinit, send_version=True).run(ctx)


def _recording(steps: list[st.Step]) -> list[st.Step]:
    """Swap every Connect (also inside Handshake/Login) for the recording one."""
    out: list[st.Step] = []
    for step in steps:
        if type(step) is st.Connect:
            rec = _RecordingConnect(step.start, step.version, step.kexinit, **step.config)
            out.append(rec)
        elif isinstance(step, st.Composite):
            out.append(st.Composite(step.name, *_recording(step.steps)))
        else:
            out.append(step)
    return out


def probe_banner(address: tuple[str, int], timeout: float) -> tuple[str, str]:
    """('ok', line) / ('refused', why) / ('hang', why): can a fresh client still get a banner?"""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except ConnectionRefusedError as exc:
        return "refused", f"connection refused: {exc}"
    except OSError as exc:
        return "hang", f"connect did not complete in {timeout:g} s: {exc}"
    with sock:
        data = b""
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "hang", f"no identification line within {timeout:g} s (got {data[:60]!r})"
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(256)
            except TimeoutError:
                return "hang", f"no identification line within {timeout:g} s (got {data[:60]!r})"
            except OSError as exc:
                return "refused", f"reset before the identification line: {exc}"
            if not chunk:
                return "refused", f"closed before the identification line (got {data[:60]!r})"
            data += chunk
    return "ok", data.split(b"\n")[0].decode(errors="replace").strip()


def _dmesg_lines() -> list[str]:
    """The kernel log (best effort: empty where it cannot be read)."""
    try:
        out = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return out.stdout.splitlines() if out.returncode == 0 else []


class PeerUnderTest:
    """The real peer: started from the registry, checked after every iteration, restarted after a finding."""

    def __init__(self, peer_id: str, launcher: str = "docker", workdir: Path | None = None,
                 user_peers: Any = None) -> None:  # fmt: skip
        from harness.scenario.peers import PeerPool

        self.peer_id = peer_id
        self.pool = PeerPool(launcher)
        self.user_peers = user_peers  # harness.peers.user_peers.UserPeers: --live ssh://... or a peers.toml name
        self.handle: Any = None
        self.restarts = 0
        self._log_seen = 0
        self._dmesg_seen = len(_dmesg_lines())
        self.start()

    @property
    def info(self) -> Any:
        return self.handle.info

    def start(self) -> None:
        if self.user_peers is not None and self.peer_id in self.user_peers.servers:
            self.handle = self.user_peers.server_handle(self.peer_id)
        else:
            self.handle = self.pool.get(self.peer_id)
        self._log_seen = len(self.handle.logs())

    @property
    def restartable(self) -> bool:
        """False for a server run outside the harness (--live ssh://...): it cannot be restarted."""
        from harness.peers.target import ExternalServer

        return not isinstance(self.handle, ExternalServer)

    def restart(self) -> None:
        """A fresh instance (the pool starts a new one once the old one is stopped)."""
        container = getattr(self.handle, "container", None)
        try:
            if container is not None and container.status == "paused":  # a frozen peer cannot be stopped
                container.unpause()
            self.handle.stop()
        except Exception:  # a container already gone: nothing to stop
            pass
        self.restarts += 1
        self.start()

    def check(self, probe_timeout: float) -> tuple[str, str] | None:
        """(kind, evidence) if the peer crashed, hangs or reported a crash since the last check."""
        state, detail = probe_banner(self.info.address, probe_timeout)
        running = bool(getattr(self.handle, "running", True))
        status = getattr(getattr(self.handle, "container", None), "status", "?")
        logs = self.handle.logs()
        new_log, self._log_seen = logs[self._log_seen :], len(logs)
        reports = [line for line in new_log.splitlines() if CRASH_PATTERNS.search(line)]
        dmesg = _dmesg_lines()
        new_kernel, self._dmesg_seen = dmesg[self._dmesg_seen :], len(dmesg)
        reports += [line for line in new_kernel if "segfault" in line and any(p in line for p in PEER_PROCESSES)]
        if state == "hang":
            return "hang", f"{detail}; container status {status}"
        if not running:
            return "crash", f"the peer is not running (container status {status}); probe: {detail}"
        if state == "refused":
            return "crash", f"the listener is dead: {detail}"
        if reports:
            return "report", "\n".join(reports[:40])
        return None

    def stop(self) -> None:
        self.pool.stop_all()
        if self.user_peers is not None:
            self.user_peers.stop_all()


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class IterationResult:
    iteration: int
    seed: str
    mutation: Mutation
    reaction: str  # what the damaged connection saw (not judged)
    finding: str | None = None  # kind
    evidence: str = ""
    seconds: float = 0.0


@dataclass
class RunSummary:
    peer: str
    seed: int
    iterations: int = 0
    seconds: float = 0.0
    findings: list[Path] = field(default_factory=list)
    reactions: dict[str, int] = field(default_factory=dict)
    restarts: int = 0


def _reaction(ctx: Context, start: int) -> str:
    for e in ctx.log[start:]:
        if isinstance(e, ev.MessageReceived) and isinstance(e.message, m.Disconnect):
            return f"disconnect({e.message.reason})"
        if isinstance(e, Closed):
            return "closed"
        if isinstance(e, LocalError):
            return "garbage-back"
    if any(isinstance(e, ev.MessageReceived) for e in ctx.log[start:]):
        return "answered"
    return "silent"


def run_iteration(peer: PeerUnderTest, seed: int, iteration: int, answer_timeout: float,
                  step_timeout: float) -> tuple[IterationResult, Context]:  # fmt: skip
    """Plan, run and observe one iteration (the peer check is the caller's)."""
    iteration_seed = f"{seed}:{iteration}"
    rng = random.Random(iteration_seed)
    steps, mutation = plan_iteration(rng, peer.info)
    ctx = Context(peer.info, rng.randrange(2**32), step_timeout)
    started = time.monotonic()
    reaction = "setup-failed"
    try:
        flat = _recording(st.flatten(steps))
        for index, step in enumerate(flat, 1):
            ctx.step_label = f"step {index}/{len(flat)} {step.describe()}"
            if index == len(flat):
                ctx.note(f"MUTATION {mutation.describe()}")
                mark = len(ctx.log)
            step.run(ctx)
        ctx.wait_for(lambda e: isinstance(e, ev.MessageReceived | Closed | LocalError), answer_timeout, mark)
        ctx.settle(0.05)
        reaction = _reaction(ctx, mark)
    except StepFailure as exc:
        ctx.note(f"the normal steps before the mutation failed: {exc}")
    except Exception as exc:  # our side failed to build or send the mutation: report it, keep fuzzing the peer
        reaction = "harness-error"
        ctx.note(f"harness error {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        ctx.close()
    result = IterationResult(iteration, iteration_seed, mutation, reaction, seconds=time.monotonic() - started)
    return result, ctx


def write_finding(out_dir: Path, peer: PeerUnderTest, result: IterationResult, ctx: Context, run_seed: int) -> Path:
    """results/live-fuzz/<peer>/<n>/: finding.json, transcript.txt, sent.bin, received.bin, wire.txt."""
    folder = out_dir / peer.peer_id
    folder.mkdir(parents=True, exist_ok=True)
    n = 1 + max((int(p.name) for p in folder.iterdir() if p.name.isdigit()), default=0)
    path = folder / str(n)
    path.mkdir()
    wire: list[tuple[str, bytes]] = ctx.vars.get("wire", [])
    (path / "sent.bin").write_bytes(b"".join(d for w, d in wire if w == ">>"))
    (path / "received.bin").write_bytes(b"".join(d for w, d in wire if w == "<<"))
    (path / "wire.txt").write_text("".join(f"{w} {len(d):6d} {d.hex()}\n" for w, d in wire))
    (path / "transcript.txt").write_text(ctx.transcript.text(limit=2000) + "\n")
    record = {
        "peer": peer.peer_id,
        "banner": peer.info.banner,
        "kind": result.finding,
        "evidence": result.evidence,
        "run_seed": run_seed,
        "iteration": result.iteration,
        "iteration_seed": result.seed,
        "mutation": asdict(result.mutation),
        "reaction": result.reaction,
        "seconds": round(result.seconds, 3),
        "replay": f"harness fuzz --live-replay {path}",
        "found": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    (path / "finding.json").write_text(json.dumps(record, indent=1) + "\n")
    return path


def _check_credentials(info: Any) -> None:
    """A user's server that none of our credentials can log in to is one message up front: otherwise
    every connection-layer iteration would end as a harness error instead of fuzzing the peer."""
    from harness.peers.base import PeerError

    extra = getattr(info, "extra", None) or {}
    if extra.get("external") and not extra.get("auth_methods"):
        raise PeerError(f"{info.peer_id} at {info.host}:{info.port}: no login method it offers has a credential "
                        "here; give --identity FILE (a key it accepts), a password in the URL, or `identity` "
                        "in peers.toml")  # fmt: skip


def run(peer_id: str, seed: int = 1, seconds: float | None = 60.0, iterations: int | None = None,
        out_dir: Path = FINDINGS, launcher: str = "docker", answer_timeout: float = 2.0, probe_timeout: float = 5.0,
        step_timeout: float = 10.0, after_iteration: Callable[[PeerUnderTest, IterationResult], None] | None = None,
        log: Callable[[str], None] = print, user_peers: Any = None) -> RunSummary:  # fmt: skip
    """Fuzz ``peer_id`` until ``seconds`` or ``iterations`` run out; findings go to ``out_dir``.

    ``user_peers`` holds the user's own servers (docs/TARGETS.md); one run outside the harness
    cannot be restarted, so its run ends at the first finding.

    ``after_iteration(peer, result)`` runs between an iteration and its peer check (tests use it
    to break the peer on purpose and watch the check notice).
    """
    summary = RunSummary(peer_id, seed)
    peer = PeerUnderTest(peer_id, launcher, user_peers=user_peers)
    try:
        _check_credentials(peer.info)
    except BaseException:
        peer.stop()
        raise
    started = time.monotonic()
    log(f"live fuzzing {peer_id} ({peer.info.banner}) at {peer.info.host}:{peer.info.port}, seed {seed}")
    try:
        i = 0
        while (iterations is None or i < iterations) and (seconds is None or time.monotonic() - started < seconds):
            result, ctx = run_iteration(peer, seed, i, answer_timeout, step_timeout)
            if after_iteration is not None:
                after_iteration(peer, result)
            found = peer.check(probe_timeout)
            summary.reactions[result.reaction] = summary.reactions.get(result.reaction, 0) + 1
            if result.reaction == "harness-error":  # our bug, not the peer's: say so, keep going
                log(f"  harness error at iteration {i} ({result.mutation.describe()}): "
                    f"{ctx.transcript.lines[-1][:400]}")  # fmt: skip
            if found is not None:
                result.finding, result.evidence = found
                path = write_finding(out_dir, peer, result, ctx, seed)
                summary.findings.append(path)
                log(f"  FINDING {result.finding} at iteration {i} ({result.mutation.describe()}): "
                    f"{result.evidence.splitlines()[0]} -> {path}")  # fmt: skip
                if not peer.restartable:
                    log(f"  {peer_id} runs outside the harness and cannot be restarted: stopping at this finding")
                    i += 1
                    break
                peer.restart()
                log(f"  restarted {peer_id} ({peer.info.host}:{peer.info.port})")
            i += 1
            if i % 25 == 0:
                log(f"  [{time.monotonic() - started:6.1f}s] {i} iterations, {len(summary.findings)} findings, "
                    f"reactions {summary.reactions}")  # fmt: skip
        summary.iterations = i
    finally:
        summary.seconds = time.monotonic() - started
        summary.restarts = peer.restarts
        peer.stop()
    rate = summary.iterations / max(summary.seconds, 1e-9)
    log(f"{summary.iterations} iterations in {summary.seconds:.1f}s ({rate:.1f}/s), {len(summary.findings)} "
        f"findings, {summary.restarts} restarts; reactions {summary.reactions}")  # fmt: skip
    return summary


def replay(finding: Path, launcher: str = "docker", probe_timeout: float = 5.0,
           log: Callable[[str], None] = print) -> tuple[str, str] | None:  # fmt: skip
    """Re-send a finding's iteration (same seed, same mutation) to a fresh peer; the check's result."""
    record = json.loads((Path(finding) / "finding.json").read_text())
    peer = PeerUnderTest(record["peer"], launcher)
    try:
        result, _ = run_iteration(peer, int(record["run_seed"]), int(record["iteration"]), 2.0, 10.0)
        if asdict(result.mutation) != record["mutation"]:
            raise RuntimeError(f"the mutation regenerated differently: {result.mutation} != {record['mutation']}")
        log(f"replayed {finding}: {result.mutation.describe()}; the connection saw: {result.reaction}")
        found = peer.check(probe_timeout)
        log(f"  peer: {found[0] + ': ' + found[1] if found else 'healthy (the finding did not reproduce)'}")
        return found
    finally:
        peer.stop()


def _default_peers_file() -> str | None:
    from harness.peers.user_peers import default_peers_file

    found = default_peers_file()
    return str(found) if found else None


def cli(args: Any) -> int:
    """``harness fuzz --live PEER|URL [--identity FILE] [--time T] [--seed S] [--runs N]`` / ``--live-replay DIR``."""
    if args.live_replay:
        return 1 if replay(Path(args.live_replay)) else 0
    from harness.fuzz.campaign import parse_duration
    from harness.peers.base import PeerError
    from harness.peers.user_peers import DEFAULT_TARGET_NAME, load_user_peers

    seconds = parse_duration(args.time) if args.time else (None if args.runs else 60)
    peer_id, target = args.live, None
    if args.live.startswith("ssh://"):  # a server someone else runs (docs/TARGETS.md)
        peer_id, target = DEFAULT_TARGET_NAME, args.live
    identity = getattr(args, "identity", None) or []
    if identity and target is None:
        print(f"harness fuzz --live: --identity is for a server given as ssh://user@host:port; {args.live} brings "
              "its own keys (built-in peer or peers.toml `identity`)", file=sys.stderr)  # fmt: skip
        return 2
    try:  # the same checks as `harness run --target ... --identity`: a missing or bad key file is one message
        user_peers = load_user_peers(target=target, identity=identity, peers_file=_default_peers_file())
    except PeerError as exc:
        print(f"harness fuzz --live: {exc}", file=sys.stderr)
        return 2
    summary = run(peer_id, seed=args.seed, seconds=seconds, iterations=args.runs,
                  out_dir=Path(args.workdir) if args.workdir else FINDINGS, user_peers=user_peers)  # fmt: skip
    return 1 if summary.findings else 0
