"""SFTP throughput: this harness's client against paramiko and AsyncSSH, same server, same run.

Not a test (pytest does not collect it): run ``.venv/bin/python tests/sftp/bench_sftp.py [MiB]``.
It starts a local OpenSSH sshd (internal-sftp) with the harness's process launcher, then for each
client gets and puts one random file of the given size (default 128 MiB) over
aes128-gcm@openssh.com, and prints MB/s (10^6 bytes per second of wall time) and the client's
CPU time per MB (``time.process_time`` of this whole process, so the reader thread counts).
Files go to a temp dir on the same disk as the server's home; each transfer is checked by size.

``--profile`` runs our get and put under cProfile and prints the top entries instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.interop import connect
from harness.peers.base import PeerInfo
from harness.peers.process import start_openssh_server

CIPHER = "aes128-gcm@openssh.com"


Result = dict[str, list[tuple[float, float]]]


def record(results: Result, label: str, nbytes: int, cpu: float, wall: float) -> None:
    mb = nbytes / 1e6
    results.setdefault(label, []).append((mb / wall, 1000 * cpu / mb))
    print(f"  {label:<14} {mb / wall:8.0f} MB/s   {1000 * cpu / mb:6.2f} ms CPU/MB   ({wall:.2f} s)", flush=True)


def timed(results: Result, label: str, nbytes: int, fn: Callable[[], object]) -> None:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    fn()
    record(results, label, nbytes, time.process_time() - cpu0, time.perf_counter() - wall0)


def ours(results: Result, info: PeerInfo, size: int, local: Path, remote: str, out: Path) -> None:
    t = connect(info, ciphers=(CIPHER,))
    try:
        with t.open_sftp_client() as sftp:
            timed(results, "harness get", size, lambda: sftp.get(remote, out))
            timed(results, "harness put", size, lambda: sftp.put(local, remote + ".up-harness"))
    finally:
        t.close()


def with_paramiko(results: Result, info: PeerInfo, size: int, local: Path, remote: str, out: Path) -> None:
    import paramiko

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(info.host, info.port, info.username, info.password, look_for_keys=False, allow_agent=False)
    try:
        transport = client.get_transport()
        assert transport is not None and transport.remote_cipher == CIPHER, transport
        sftp = client.open_sftp()
        timed(results, "paramiko get", size, lambda: sftp.get(remote, str(out)))
        timed(results, "paramiko put", size, lambda: sftp.put(str(local), remote + ".up-paramiko"))
        sftp.close()
    finally:
        client.close()


def with_asyncssh(results: Result, info: PeerInfo, size: int, local: Path, remote: str, out: Path) -> None:
    import asyncssh

    async def run() -> None:
        async with (asyncssh.connect(info.host, info.port, username=info.username, password=info.password,
                                     known_hosts=None, encryption_algs=[CIPHER]) as conn,
                    conn.start_sftp_client() as sftp):  # fmt: skip
            for label, make in (("asyncssh get", lambda: sftp.get(remote, str(out))),
                                ("asyncssh put", lambda: sftp.put(str(local), remote + ".up-asyncssh"))):  # fmt: skip
                cpu0, wall0 = time.process_time(), time.perf_counter()
                await make()
                record(results, label, size, time.process_time() - cpu0, time.perf_counter() - wall0)

    asyncio.run(run())


def paramiko_gcm(info: PeerInfo) -> None:
    """paramiko picks its own first cipher; make it aes128-gcm like the others."""
    import paramiko

    preferred = paramiko.Transport._preferred_ciphers
    paramiko.Transport._preferred_ciphers = (CIPHER, *(c for c in preferred if c != CIPHER))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mib", nargs="?", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the machine may be busy)")
    parser.add_argument("--profile", action="store_true", help="cProfile our get and put")
    parser.add_argument("--only", choices=("harness", "paramiko", "asyncssh"), action="append")
    args = parser.parse_args()
    size = args.mib << 20
    server = start_openssh_server()
    info = server.info
    work = Path(tempfile.mkdtemp(prefix="sftp-bench-"))
    try:
        assert info.home is not None
        home_stat = os.stat(info.home)
        remote = "bench.bin"
        src = info.home / remote
        with open(src, "wb") as fh:
            fh.write(os.urandom(size))
        os.chown(src, home_stat.st_uid, home_stat.st_gid)
        local = work / "local.bin"
        shutil.copyfile(src, local)
        out = work / "out.bin"
        print(f"{info.banner}; {args.mib} MiB; cipher {CIPHER}; {os.cpu_count()} CPUs", flush=True)
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(ours, {}, info, size, local, remote, out)
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            return
        paramiko_gcm(info)
        runners = {"harness": ours, "paramiko": with_paramiko, "asyncssh": with_asyncssh}
        results: Result = {}
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}", flush=True)
            for name in args.only or list(runners):
                runners[name](results, info, size, local, remote, out)
                if out.stat().st_size != size:
                    raise SystemExit(f"{name}: downloaded {out.stat().st_size} bytes, expected {size}")
                out.unlink()
        print(f"summary over {args.rounds} round(s): best and median MB/s, median CPU ms/MB")
        for label, values in results.items():
            rates = sorted(v[0] for v in values)
            cpus = sorted(v[1] for v in values)
            print(f"  {label:<14} best {rates[-1]:6.0f}  median {statistics.median(rates):6.0f} MB/s   "
                  f"{statistics.median(cpus):5.2f} ms CPU/MB")  # fmt: skip
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
