"""Record a real session byte for byte, and replay it offline through the sans-I/O core.

Why: the core takes all its randomness from ``randbytes``; with a seeded source our side of a
session is fully determined by the bytes the peer sent. A transcript recorded once against a
real OpenSSH or Dropbear therefore replays exactly, forever, without the peer: every kex method
gets a known-answer test (the server's signature over our exchange hash must verify), every
cipher a regression test, and the fuzzers get seeds that reach every phase.

A transcript is a list of steps. Each step is one client action, the bytes the peer sent until
the step's wait condition held, and the bytes we sent during the step.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.connection import Connection
from harness.ssh.phases import Role
from harness.ssh.wire import messages as m

# How long the recorder waits for one step's condition before giving up.
STEP_TIMEOUT = 20.0


def seeded_randbytes(seed: int) -> Callable[[int], bytes]:
    """Deterministic randomness for replayable runs (never for real security)."""
    rng = random.Random(seed)
    return rng.randbytes


@dataclass
class Step:
    action: str
    args: list[Any] = field(default_factory=list)
    incoming: list[str] = field(default_factory=list)  # hex chunks fed after the action
    outgoing: str = ""  # hex of everything we sent during the step


@dataclass
class Transcript:
    peer: str
    banner: str
    seed: int
    config: dict[str, Any]
    steps: list[Step]
    description: str = ""

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Transcript:
        data = json.loads(path.read_text())
        data["steps"] = [Step(**s) for s in data["steps"]]
        return cls(**data)


# Each action: what it does to the connection, and the event that ends its step.
def _act(conn: Connection, action: str, args: list[Any]) -> None:
    if action == "start":
        conn.start()
    elif action == "auth_password":
        conn.auth.password(args[0], args[1])
    elif action == "open_session":
        conn.channels.open("session")
    elif action == "exec":
        conn.channels.send_request(0, m.ChannelRequestExec(want_reply=True, command=args[0].encode()))
    elif action == "send":
        conn.channels.send_data(0, bytes.fromhex(args[0]))
    elif action == "eof":
        conn.channels.send_eof(0)
    elif action == "rekey":
        conn.rekey()
    elif action == "disconnect":
        conn.disconnect()
    else:
        raise ValueError(f"unknown transcript action {action!r}")


_DONE: dict[str, Callable[[ev.Event], bool]] = {
    "start": lambda e: isinstance(e, ev.KexComplete),
    "auth_password": lambda e: isinstance(e, ev.AuthSuccess | ev.AuthFailure),
    "open_session": lambda e: isinstance(e, ev.ChannelOpened | ev.ChannelOpenFailed),
    "exec": lambda e: isinstance(e, ev.ChannelRequestReply),
    "send": lambda e: False,
    "eof": lambda e: isinstance(e, ev.ChannelClosed),
    "rekey": lambda e: isinstance(e, ev.KexComplete),
    "disconnect": lambda e: False,
}


def _config(overrides: dict[str, Any]) -> ConnectionConfig:
    cfg = ConnectionConfig()
    for key, value in overrides.items():
        setattr(cfg, key, tuple(value) if isinstance(value, list) else value)
    return cfg


def record(address: tuple[str, int], plan: list[tuple[str, list[Any]]], *, seed: int,
           config: dict[str, Any] | None = None, peer: str = "", description: str = "") -> Transcript:  # fmt: skip
    """Run ``plan`` against a live peer and return the transcript."""
    config = config or {}
    conn = Connection(Role.CLIENT, seeded_randbytes(seed), _config(config))
    steps: list[Step] = []
    with socket.create_connection(address, timeout=STEP_TIMEOUT) as sock:
        for action, args in plan:
            step = Step(action, list(args))
            _act(conn, action, args)
            out = conn.data_to_send()
            sock.sendall(out)
            sent = bytearray(out)
            done = _DONE[action]
            finished = action in ("send", "disconnect")
            deadline = time.monotonic() + STEP_TIMEOUT
            while not finished:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"transcript step {action} did not finish")
                data = sock.recv(1 << 16)
                if not data:
                    break
                step.incoming.append(data.hex())
                conn.receive_data(data)
                out = conn.data_to_send()
                sock.sendall(out)
                sent += out
                while (event := conn.next_event()) is not None:
                    finished = finished or done(event)
            while conn.next_event() is not None:
                pass
            step.outgoing = sent.hex()
            steps.append(step)
    return Transcript(peer, conn.peer_version_line.decode(), seed, config, steps, description)


def replay(transcript: Transcript, upto: int | None = None,
           on_step: Callable[[Connection, Step, list[ev.Event]], None] | None = None) -> Connection:  # fmt: skip
    """Replay offline; every byte we produce must equal the recording (AssertionError if not)."""
    conn = Connection(Role.CLIENT, seeded_randbytes(transcript.seed), _config(transcript.config))
    for index, step in enumerate(transcript.steps[:upto]):
        _act(conn, step.action, step.args)
        produced = bytearray(conn.data_to_send())
        events: list[ev.Event] = []
        for chunk in step.incoming:
            conn.receive_data(bytes.fromhex(chunk))
            produced += conn.data_to_send()
            while (event := conn.next_event()) is not None:
                events.append(event)
        if produced.hex() != step.outgoing:
            raise AssertionError(f"step {index} ({step.action}): our bytes differ from the recording")
        if on_step is not None:
            on_step(conn, step, events)
    return conn


STANDARD_PLAN: list[tuple[str, list[Any]]] = [
    ("start", []),
    ("auth_password", ["$USER", "$PASSWORD"]),
    ("open_session", []),
    ("exec", ["cat"]),
    ("send", ["68656c6c6f0a"]),
    ("rekey", []),
    ("eof", []),
    ("disconnect", []),
]


def standard_plan(user: str, password: str) -> list[tuple[str, list[Any]]]:
    """Full client life cycle: kex, password auth, exec cat, data, rekey, EOF, close."""
    subst = {"$USER": user, "$PASSWORD": password}
    return [(a, [subst.get(x, x) for x in args]) for a, args in STANDARD_PLAN]


def record_matrix(out_dir: Path, seed: int = 1) -> list[Path]:
    """Record the standard plan against local sshd and Dropbear for every algorithm they offer.

    One transcript per (peer, category, algorithm), forcing that algorithm. These are the
    replay tests' vectors and the fuzzers' seeds; re-record after changing what we send.
    """
    import tempfile

    from harness.crypto_names import ALGORITHM_CATEGORIES
    from harness.interop import not_applicable, options_for
    from harness.peers.process import start_dropbear_server, start_openssh_server

    config_key = {"kex": "kex", "key_types": "host_key_algorithms", "ciphers": "ciphers", "digests": "macs",
                  "compression": "compression"}  # fmt: skip
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        for starter in (start_openssh_server, start_dropbear_server):
            with starter(Path(tmp) / starter.__name__) as server:
                info = server.info
                for category, algorithms in ALGORITHM_CATEGORIES.items():
                    for alg in algorithms:
                        if not_applicable(info, category, alg):
                            continue
                        options = options_for(info, category, alg)
                        config = {config_key[k]: list(v) for k, v in options.items()}
                        t = record(info.address, standard_plan(info.username, info.password), seed=seed,
                                   config=config, peer=info.peer_id,
                                   description=f"{info.peer_id}: standard plan forcing {category} {alg}")  # fmt: skip
                        path = out_dir / info.product / f"{category}-{alg.replace('@', '_at_')}.json"
                        t.save(path)
                        written.append(path)
    return written
