"""The SFTP section of `harness bench`: get and put of one random file with four clients.

Our :class:`harness.sftp_client.SFTPClient`, paramiko's and AsyncSSH's SFTP clients and OpenSSH's
own ``sftp`` binary (batch mode, ``sftp -b``) each download and upload the same random file
(128 MiB by default) from and to OpenSSH 9.2's sftp-server, over aes128-gcm@openssh.com with
curve25519-sha256 and Ed25519 key authentication. Why it is measured this way:

* Repetitions interleave the clients (the order rotates per repetition), so load from other work
  on a shared machine hits every client alike; compare figures of one run, not across runs.
* Python clients connect and open their SFTP session first; the timer covers only ``get`` or
  ``put`` (including the final CLOSE / size check each client does). Client CPU is
  ``time.process_time`` of this process, which counts every thread (our reader and writer
  threads, paramiko's transport thread).
* ``sftp`` runs one process per transfer (and ``ssh`` as its child). Its wall time and CPU come
  from ``os.wait4`` (the rusage of sftp and the ssh it reaped); a login-only batch (``pwd``) is
  measured the same way three times per repetition and its median subtracted, as the ``ssh``
  column of the bulk section does.
* Every transfer is checked: downloads by SHA-256 against the planted file, uploads by SHA-256
  of the file the server wrote (read from the server's home on this machine). A wrong byte is an
  error in the report, never a figure.

The file lives in the server's home, owned by the test user; local copies go to a temp dir on
the same disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.benchmark.clients import BULK_KEX, CIPHERS, AsyncSSH, Ours, Paramiko, Target, Unsupported, run_measured

MiB = 1 << 20
SFTP_ALGS = CIPHERS[0]  # aes128-gcm@openssh.com: the one fast AEAD every client has
SFTP_CLIENTS = ("harness", "paramiko", "asyncssh", "sftp")
DIRECTIONS = ("get", "put")
REMOTE_NAME = "sftp-bench.bin"
# Login-only runs of the sftp binary per repetition; their median is its login cost.
BASELINE_RUNS = 3
TIMEOUT = 300.0


@dataclass
class SFTPTarget:
    """An SSH server with an SFTP subsystem and the test user's home as seen from this machine."""

    label: str
    version: str
    target: Target
    home: Path


@dataclass
class Transfer:
    wall: float
    cpu: float


def _timed(fn: Callable[[], object]) -> Transfer:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return Transfer(time.perf_counter() - w0, time.process_time() - c0)


# == the Python clients ============================================================================
# Each returns {direction: Transfer} for one connection that does a get, then a put.


def run_ours(target: Target, remote: str, local_in: Path, local_out: Path) -> dict[str, Transfer]:
    t = Ours()._connect(target, SFTP_ALGS, BULK_KEX)
    try:
        with t.open_sftp_client() as sftp:
            return {"get": _timed(lambda: sftp.get(remote, local_out)),
                    "put": _timed(lambda: sftp.put(local_in, remote + ".up"))}  # fmt: skip
    finally:
        t.close()


def run_paramiko(target: Target, remote: str, local_in: Path, local_out: Path) -> dict[str, Transfer]:
    import paramiko

    t = Paramiko()._connect(target, SFTP_ALGS, BULK_KEX)
    try:
        sftp = paramiko.SFTPClient.from_transport(t)
        if sftp is None:
            raise RuntimeError("paramiko could not start the sftp subsystem")
        with sftp:
            return {"get": _timed(lambda: sftp.get(remote, str(local_out))),
                    "put": _timed(lambda: sftp.put(str(local_in), remote + ".up"))}  # fmt: skip
    finally:
        t.close()


def run_asyncssh(target: Target, remote: str, local_in: Path, local_out: Path) -> dict[str, Transfer]:
    async def run() -> dict[str, Transfer]:
        async with (await AsyncSSH()._connect(target, SFTP_ALGS, BULK_KEX) as conn,
                    conn.start_sftp_client() as sftp):  # fmt: skip
            out = {}
            for direction, make in (("get", lambda: sftp.get(remote, str(local_out))),
                                    ("put", lambda: sftp.put(str(local_in), remote + ".up"))):  # fmt: skip
                c0, w0 = time.process_time(), time.perf_counter()
                await make()
                out[direction] = Transfer(time.perf_counter() - w0, time.process_time() - c0)
            return out

    return asyncio.run(run())


# == OpenSSH's sftp binary ========================================================================


class SftpBinary:
    """``sftp -b BATCH`` with key auth, an empty HOME and no config: one process per transfer."""

    def __init__(self, home: Path, binary: str = "/usr/bin/sftp") -> None:
        self.home = home
        self.binary = binary

    def argv(self, target: Target, batch: Path) -> list[str]:
        return [self.binary, "-F", "/dev/null", "-b", str(batch), "-P", str(target.port), "-i", str(target.key),
                "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={target.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                "-o", "ControlMaster=no", "-o", f"KexAlgorithms={BULK_KEX}", "-c", SFTP_ALGS.cipher,
                f"{target.user}@{target.host}"]  # fmt: skip

    def run(self, target: Target, commands: str) -> Transfer:
        """Run one batch; wall time and the CPU of sftp plus the ssh child it waited for."""
        batch = self.home / "batch"
        batch.write_text(commands + "\n")
        env = {"HOME": str(self.home), "PATH": "/usr/bin:/bin", "LANG": "C"}
        wall, cpu = run_measured(self.argv(target, batch), env, subprocess.DEVNULL, "sftp")
        return Transfer(wall, cpu)

    def version(self) -> str:
        r = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10)
        return (r.stderr or r.stdout).strip()


def _quote(path: str | Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


# == the section ===================================================================================


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * MiB):
            digest.update(chunk)
    return digest.hexdigest()


def plant_random_file(server: SFTPTarget, size: int) -> str:
    """Write ``size`` random bytes to the server's home as the test user's file; its SHA-256."""
    path = server.home / REMOTE_NAME
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = os.urandom(min(4 * MiB, left))
            fh.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    owner = os.stat(server.home)
    os.chown(path, owner.st_uid, owner.st_gid)
    return digest.hexdigest()


def profile(server: SFTPTarget, work: Path, size_mib: float) -> dict[str, list[str]]:
    """cProfile (all threads) of our client's get, then put, of a ``size_mib`` random file, each
    on its own connection (the login is a few ms of CPU next to the transfer)."""
    from harness.benchmark.profiling import profile_threads

    work.mkdir(parents=True, exist_ok=True)
    digest = plant_random_file(server, int(size_mib * MiB))
    local = work / "sftp-profile.bin"

    def session(action: Callable[[Any], object]) -> None:
        # The login is inside the profiled call: the transport's reader and writer threads must
        # start while the profiler's thread hook is installed, or their work would be missed.
        t = Ours()._connect(server.target, SFTP_ALGS, BULK_KEX)
        try:
            with t.open_sftp_client() as client:
                action(client)
        finally:
            t.close()

    out = {"get": profile_threads(lambda: session(lambda c: c.get(REMOTE_NAME, local)), top=12),
           "put": profile_threads(lambda: session(lambda c: c.put(local, REMOTE_NAME + ".up")), top=12)}  # fmt: skip
    ok = sha256_file(local) == digest == sha256_file(server.home / (REMOTE_NAME + ".up"))
    for path in (local, server.home / REMOTE_NAME, server.home / (REMOTE_NAME + ".up")):
        path.unlink(missing_ok=True)
    if not ok:
        raise RuntimeError("the profiled transfer delivered different bytes")
    return out


def summarize(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}  # fmt: skip


def measure(server: SFTPTarget, work: Path, size_mib: float, reps: int, clients: tuple[str, ...] = SFTP_CLIENTS,
            log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """The SFTP section's results (JSON-ready): per client and direction MB/s and client CPU ms/MB."""
    size = int(size_mib * MiB)
    work.mkdir(parents=True, exist_ok=True)
    sftp_home = work / "sftp-home"
    sftp_home.mkdir(exist_ok=True)
    binary = SftpBinary(sftp_home)
    digest = plant_random_file(server, size)
    local_in = work / "sftp-upload.bin"
    local_out = work / "sftp-download.bin"
    shutil.copyfile(server.home / REMOTE_NAME, local_in)
    uploaded = server.home / (REMOTE_NAME + ".up")
    runners: dict[str, Callable[[Target, str, Path, Path], dict[str, Transfer]]] = {
        "harness": run_ours, "paramiko": run_paramiko, "asyncssh": run_asyncssh}  # fmt: skip
    samples: dict[tuple[str, str], list[Transfer]] = {}
    errors: list[str] = []
    baselines: list[float] = []

    def check(client: str) -> None:
        for what, path in (("get", local_out), ("put", uploaded)):
            got = sha256_file(path) if path.exists() else "missing"
            if got != digest:
                raise RuntimeError(f"{client} {what}: SHA-256 of the result differs from the file sent")
            path.unlink()

    try:
        for rep in range(reps):
            order = list(clients[rep % len(clients) :] + clients[: rep % len(clients)])
            log(f"[sftp] repetition {rep + 1}/{reps} (load {[round(x, 2) for x in os.getloadavg()]})")
            for client in order:
                try:
                    if client == "sftp":
                        logins = [binary.run(server.target, "pwd") for _ in range(BASELINE_RUNS)]
                        login = Transfer(statistics.median(t.wall for t in logins),
                                         statistics.median(t.cpu for t in logins))  # fmt: skip
                        baselines.append(login.wall)
                        result = {}
                        for direction, cmd in (("get", f"get {REMOTE_NAME} {_quote(local_out)}"),
                                               ("put", f"put {_quote(local_in)} {REMOTE_NAME}.up")):  # fmt: skip
                            whole = binary.run(server.target, cmd)
                            result[direction] = Transfer(
                                max(whole.wall - login.wall, 1e-6), max(whole.cpu - login.cpu, 0)
                            )
                    else:
                        result = runners[client](server.target, REMOTE_NAME, local_in, local_out)
                    check(client)
                except Unsupported as exc:
                    errors.append(f"{client}: not applicable: {exc}")
                    continue
                except Exception as exc:
                    errors.append(f"repetition {rep + 1} {client}: {type(exc).__name__}: {exc}")
                    log(f"  ERROR {client}: {exc}")
                    for path in (local_out, uploaded):
                        path.unlink(missing_ok=True)
                    continue
                for direction, tr in result.items():
                    samples.setdefault((client, direction), []).append(tr)
                    mb = size / 1e6
                    log(f"  {client:9} {direction} {mb / tr.wall:7.0f} MB/s  client {1000 * tr.cpu / mb:5.2f} ms/MB"
                        f"  ({tr.wall:.2f} s)")  # fmt: skip
        rows = []
        for client in clients:
            for direction in DIRECTIONS:
                trs = samples.get((client, direction))
                if not trs:
                    continue
                mb = size / 1e6
                rows.append({"client": client, "direction": direction, "runs": len(trs),
                             "mb_s": summarize([mb / t.wall for t in trs]),
                             "client_cpu_ms_per_mb": summarize([1000 * t.cpu / mb for t in trs])})  # fmt: skip
    finally:  # 3 x the file size in the server's home and ours: never left behind
        (server.home / REMOTE_NAME).unlink(missing_ok=True)
        for path in (local_in, local_out, uploaded):
            path.unlink(missing_ok=True)
    return {
        "server": server.label, "server_version": server.version, "cipher": SFTP_ALGS.cipher, "kex": BULK_KEX,
        "size_mib": size_mib, "reps": reps, "rows": rows, "errors": errors,
        "sftp_login_baseline_s": round(statistics.median(baselines), 4) if baselines else None,
        "settings": client_settings(binary),
    }  # fmt: skip


def client_settings(binary: SftpBinary) -> dict[str, str]:
    """What each client requests per READ/WRITE and keeps in flight (their defaults, recorded)."""
    import asyncssh
    import paramiko

    from harness.sftp_session import READ_PIPELINE_BYTES, WRITE_PIPELINE_BYTES

    return {
        "harness": f"server limits (255 KiB on 9.2), {READ_PIPELINE_BYTES // MiB} MiB of reads / "
                   f"{WRITE_PIPELINE_BYTES // MiB} MiB of writes in flight",
        "paramiko": f"paramiko {paramiko.__version__} defaults: 32 KiB reads (prefetch), 32 KiB pipelined writes",
        "asyncssh": f"asyncssh {asyncssh.__version__} defaults: block size from server limits, 128 requests",
        "sftp": f"{binary.version()} defaults (-B/-R unset), batch mode, one process per transfer, login subtracted",
    }


def _row(res: dict[str, Any], client: str, direction: str) -> dict[str, Any] | None:
    return next((r for r in res["rows"] if r["client"] == client and r["direction"] == direction), None)


def median(res: dict[str, Any], client: str, direction: str, metric: str) -> float | None:
    row = _row(res, client, direction)
    return None if row is None else float(row[metric]["median"])


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 8: at least AsyncSSH's rate both ways at no more client CPU per MB."""
    out = []
    for direction in DIRECTIONS:
        ours, theirs = median(res, "harness", direction, "mb_s"), median(res, "asyncssh", direction, "mb_s")
        out.append({"target": f"SFTP {direction}: MB/s >= AsyncSSH's",
                    "value": None if ours is None or not theirs else round(ours / theirs, 3),
                    "met": None if ours is None or theirs is None else ours >= theirs})  # fmt: skip
        ours = median(res, "harness", direction, "client_cpu_ms_per_mb")
        theirs = median(res, "asyncssh", direction, "client_cpu_ms_per_mb")
        out.append({"target": f"SFTP {direction}: client CPU ms/MB <= AsyncSSH's",
                    "value": None if ours is None or not theirs else round(ours / theirs, 3),
                    "met": None if ours is None or theirs is None else ours <= theirs})  # fmt: skip
    return out


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}"


def markdown(res: dict[str, Any]) -> list[str]:
    """The SFTP section of summary.md."""
    login = res["sftp_login_baseline_s"]
    out = [f"## SFTP: get and put of a {res['size_mib']:g} MiB random file ({res['server_version']}, "
           f"{res['cipher']}, {res['kex']})", "",
           f"Median of {res['reps']} interleaved repetitions (min-max in brackets); client CPU is all threads "
           "of the client (sftp: the sftp and ssh processes, login subtracted"
           f"{'' if login is None else f', median login {login} s'}).", "",
           "| client | get MB/s | get CPU ms/MB | put MB/s | put CPU ms/MB |", "|---|---|---|---|---|"]  # fmt: skip
    names = {"harness": "harness", "paramiko": "paramiko", "asyncssh": "AsyncSSH", "sftp": "OpenSSH sftp"}
    for client in SFTP_CLIENTS:
        cells = []
        for direction in DIRECTIONS:
            row = _row(res, client, direction)
            if row is None:
                cells += ["n/a", "n/a"]
                continue
            rate, cpu = row["mb_s"], row["client_cpu_ms_per_mb"]
            cells += [f"{rate['median']:.0f} ({rate['min']:.0f}-{rate['max']:.0f})",
                      f"{cpu['median']:.2f} ({cpu['min']:.2f}-{cpu['max']:.2f})"]  # fmt: skip
        out.append(f"| {names[client]} | " + " | ".join(cells) + " |")
    out += ["", "| ratio (ours / theirs) | get MB/s | get CPU | put MB/s | put CPU |", "|---|---|---|---|---|"]
    for other in ("asyncssh", "paramiko", "sftp"):
        cells = []
        for direction in DIRECTIONS:
            for metric in ("mb_s", "client_cpu_ms_per_mb"):
                cells.append(_ratio(median(res, "harness", direction, metric), median(res, other, direction, metric)))
        out.append(f"| ours / {names[other]} | " + " | ".join(cells) + " |")
    out += ["", "Client settings: " + "; ".join(f"{k}: {v}" for k, v in res["settings"].items()) + "."]
    if res.get("profile"):
        out += ["", "Hotspots of our client (cProfile, all threads, by own time):", ""]
        for key, lines in res["profile"].items():
            out += [f"{key}:", "", *[f"    {line}" for line in lines], ""]
    if res["errors"]:
        out += ["", "SFTP errors:", "", *[f"- {e}" for e in res["errors"]]]
    return [*out, ""]


def table(res: dict[str, Any]) -> str:
    """Terminal table of the SFTP section."""
    lines = [f"{'sftp client':12} {'dir':4} {'MB/s med':>8} {'MB/s min':>8} {'MB/s max':>8} {'cli ms/MB':>9}"]
    for row in res["rows"]:
        lines.append(f"{row['client']:12} {row['direction']:4} {row['mb_s']['median']:8.0f} {row['mb_s']['min']:8.0f} "
                     f"{row['mb_s']['max']:8.0f} {row['client_cpu_ms_per_mb']['median']:9.2f}")  # fmt: skip
    return "\n".join(lines)
