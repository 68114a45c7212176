"""`harness bench`: one benchmark run, printed as a table and written as JSON and Markdown.

Sections (each interleaves the clients within every repetition, so load from other work on the
machine hits them alike): the ceiling (cryptography's raw cipher rate, our packet layer), bulk
transfers against sshd and Dropbear, the same clients against our server, handshake times per
key exchange method, 1,000 channels on one connection, peak memory during a 1 GiB download, SFTP
get and put against OpenSSH's sftp-server (:mod:`harness.benchmark.sftp`; ``--only sftp`` runs
that section alone) and, where a target is missed, cProfile hotspots of our client. Nothing here
is a test: it never fails on a figure, it reports it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness.benchmark import ceiling, report, sftp
from harness.benchmark.clients import CIPHERS, KEX_METHODS, AsyncSSH, OpenSSH, Ours, Paramiko, Sample, Unsupported
from harness.benchmark.profiling import profile_threads
from harness.benchmark.servers import (
    Server,
    start_docker_openssh,
    start_docker_openssh10,
    start_dropbear,
    start_our_server,
    start_sshd,
)

MiB = 1 << 20
# Below this many bytes per transfer a bulk run lasts a few milliseconds on loopback: login,
# window start-up and timer resolution dominate, so a MB/s figure would be noise. Such runs
# still check that every client works; their rows say "too small" instead of a rate.
MIN_THROUGHPUT_MIB = 32
QUICK = {"size": 4.0, "reps": 1, "handshakes": 2, "channels": 20, "memory_mib": 0, "sftp_reps": 0,
         "no_docker": True, "no_profile": True, "cipher": ["aes128-gcm"], "kex": ["curve25519-sha256"],
         "server_ciphers": ["aes128-gcm"]}  # fmt: skip  (--quick: every section once, in under a minute)
PY_CLIENTS = ("harness", "paramiko", "asyncssh")


def log(msg: str) -> None:
    print(msg, flush=True)


def machine_info() -> dict[str, Any]:
    import asyncssh
    import cryptography
    import paramiko

    def tool(argv: list[str]) -> str:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    return {
        "host": platform.node(), "cpu": cpu, "cpus": os.cpu_count(), "memory": mem,
        "kernel": platform.release(), "python": platform.python_version(),
        "versions": {"cryptography": cryptography.__version__, "paramiko": paramiko.__version__,
                     "asyncssh": asyncssh.__version__, "ssh": tool(["ssh", "-V"]),
                     "sshd": tool(["/usr/sbin/sshd", "-V"]), "dropbear": tool(["/usr/sbin/dropbear", "-V"]),
                     "harness": _git_rev()},
    }  # fmt: skip


def _git_rev() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=5).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "harness"], capture_output=True,
                               text=True, timeout=10).stdout.strip()  # fmt: skip
        return rev + ("+local changes" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def summarize(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}  # fmt: skip


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.size = int(args.size * MiB)
        self.work = Path(tempfile.mkdtemp(prefix="harness-bench-"))
        home = self.work / "ssh-home"
        home.mkdir()
        self.upload_file = self.work / "upload.bin"
        with open(self.upload_file, "wb") as fh:
            for _ in range(self.size // MiB):
                fh.write(bytes(MiB))
            fh.write(bytes(self.size % MiB))
        self.clients: dict[str, Any] = {"harness": Ours(), "paramiko": Paramiko(), "asyncssh": AsyncSSH(),
                                        "ssh": OpenSSH(home, self.upload_file)}  # fmt: skip
        self.results: dict[str, Any] = {"bulk": [], "handshake": [], "channels": [], "errors": []}

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    # -- bulk -------------------------------------------------------------------------------

    def _one_bulk(self, server: Server, client_name: str, algs: Any, direction: str,
                  baseline: dict[tuple[str, str], tuple[float, float, float]]) -> dict[str, float]:  # fmt: skip
        client = self.clients[client_name]
        marks: list[float | None] = []

        def probe() -> None:  # called once the command runs and again once it finished
            marks.append(server.cpu())

        sample: Sample = client.bulk(server.target, algs, direction, self.size, probe)
        server.settle()
        if len(marks) == 1:  # ssh: the whole run, the login is subtracted below
            marks.append(server.cpu())
        wall, cpu = sample.wall, sample.cpu
        server_cpu = None if None in marks else marks[1] - marks[0]  # type: ignore[operator]
        if client_name == "ssh":
            b_wall, b_cpu, b_srv = baseline[(server.label, algs.label)]
            wall, cpu = max(wall - b_wall, 1e-6), max(cpu - b_cpu, 0.0)
            if server_cpu is not None:
                server_cpu = max(server_cpu - b_srv, 0.0)
        mb = sample.nbytes / 1e6
        return {"mb_s": mb / wall, "client_cpu_ms_per_mb": 1000 * cpu / mb,
                "server_cpu_ms_per_mb": None if server_cpu is None else 1000 * server_cpu / mb}  # fmt: skip

    def _ssh_baseline(self, server: Server, algs: Any) -> tuple[float, float, float]:
        """Median login-only cost of one `ssh ... true` (wall, client CPU, server CPU)."""
        ssh: OpenSSH = self.clients["ssh"]
        walls, cpus, srvs = [], [], []
        for _ in range(3):
            s0 = server.cpu()
            sample = ssh.baseline(server.target, algs)
            server.settle()
            s1 = server.cpu()
            walls.append(sample.wall)
            cpus.append(sample.cpu)
            srvs.append(0.0 if s0 is None or s1 is None else s1 - s0)
        return statistics.median(walls), statistics.median(cpus), statistics.median(srvs)

    def bulk(self, servers: list[Server], ciphers_for: Callable[[Server], list[Any]], clients: list[str],
             section: str) -> None:  # fmt: skip
        runs: dict[tuple[str, str, str, str], list[dict[str, float]]] = {}
        skipped: dict[tuple[str, str, str], str] = {}
        baseline = {}
        for server in servers:
            for algs in ciphers_for(server):
                if "ssh" in clients:
                    baseline[(server.label, algs.label)] = self._ssh_baseline(server, algs)
        for rep in range(self.args.reps):
            log(f"[{section}] repetition {rep + 1}/{self.args.reps} (load {loadavg()})")
            order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
            for server in servers:
                for algs in ciphers_for(server):
                    for client_name in order:
                        if (server.label, client_name, algs.label) in skipped:
                            continue
                        for direction in ("down", "up"):
                            key = (server.label, client_name, algs.label, direction)
                            try:
                                r = self._one_bulk(server, client_name, algs, direction, baseline)
                            except Unsupported as exc:
                                skipped[(server.label, client_name, algs.label)] = str(exc)
                                break
                            except Exception as exc:
                                self.results["errors"].append(f"{section} {key}: {type(exc).__name__}: {exc}")
                                log(f"  ERROR {key}: {exc}")
                                continue
                            runs.setdefault(key, []).append(r)
                            srv = r["server_cpu_ms_per_mb"]
                            if self.size < MIN_THROUGHPUT_MIB * MiB:
                                log(f"  {server.label:15} {client_name:9} {algs.label:29} {direction:4} ok "
                                    f"({self.size / MiB:g} MiB: too small for a MB/s figure)")  # fmt: skip
                                continue
                            log(f"  {server.label:15} {client_name:9} {algs.label:29} {direction:4} "
                                f"{r['mb_s']:7.0f} MB/s  client {r['client_cpu_ms_per_mb']:5.2f}  "
                                f"server {'-' if srv is None else f'{srv:5.2f}'} ms/MB")  # fmt: skip
        too_small = self.size < MIN_THROUGHPUT_MIB * MiB
        for (srv_label, client_name, label, direction), rs in runs.items():
            if too_small:  # a row without mb_s reads as "n/a: <skipped>" in the table and summary
                self.results["bulk"].append({"section": section, "server": srv_label, "client": client_name,
                                             "cipher": label, "direction": direction, "size": self.size,
                                             "too_small": True,
                                             "skipped": f"{self.size / MiB:g} MiB per transfer is below "
                                             f"{MIN_THROUGHPUT_MIB} MiB: too small for a MB/s figure"})  # fmt: skip
                continue
            entry: dict[str, Any] = {"section": section, "server": srv_label, "client": client_name, "cipher": label,
                                     "direction": direction, "size": self.size, "runs": len(rs)}  # fmt: skip
            for metric in ("mb_s", "client_cpu_ms_per_mb", "server_cpu_ms_per_mb"):
                values = [r[metric] for r in rs if r[metric] is not None]
                entry[metric] = summarize(values) if values else None
            self.results["bulk"].append(entry)
        for (srv_label, client_name, label), why in skipped.items():
            self.results["bulk"].append({"section": section, "server": srv_label, "client": client_name,
                                         "cipher": label, "skipped": why})  # fmt: skip

    # -- handshake and channels -------------------------------------------------------------

    def handshakes(self, servers: list[Server], kex_for: Callable[[Server], list[str]]) -> None:
        first_row = len(self.results["handshake"])
        times: dict[tuple[str, str, str], list[float]] = {}
        skipped: dict[tuple[str, str, str], str] = {}
        names = ["harness", "paramiko", "asyncssh", "ssh"]
        for rep in range(self.args.handshakes):
            for server in servers:
                for kex in kex_for(server):
                    for name in names[rep % 4 :] + names[: rep % 4]:
                        key = (server.label, name, kex)
                        if key in skipped:
                            continue
                        algs = _handshake_cipher(server)
                        try:
                            times.setdefault(key, []).append(self.clients[name].handshake(server.target, kex, algs))
                        except Unsupported as exc:
                            skipped[key] = str(exc)
                        except Exception as exc:
                            skipped[key] = f"failed: {type(exc).__name__}: {exc}"
                        server.settle()
        for (srv, name, kex), ts in times.items():
            if (srv, name, kex) not in skipped:
                self.results["handshake"].append({"server": srv, "client": name, "kex": kex, "runs": len(ts),
                                                  "ms": summarize(ts)})  # fmt: skip
        for (srv, name, kex), why in skipped.items():
            self.results["handshake"].append({"server": srv, "client": name, "kex": kex, "skipped": why})
        for server in servers:  # where our login's time goes (median per phase)
            kex = "curve25519-sha256"
            try:
                phases = [self.clients["harness"].handshake_phases(server.target, kex, _handshake_cipher(server))
                          for _ in range(5)]  # fmt: skip
            except Exception as exc:
                self.results["errors"].append(f"handshake phases {server.label}: {exc}")
                continue
            self.results.setdefault("handshake_phases", {})[server.label] = {
                k: round(statistics.median(p[k] for p in phases), 1) for k in phases[0]
            }
        for row in self.results["handshake"][first_row:]:
            if "ms" in row:
                log(f"  handshake {row['server']:22} {row['client']:9} {row['kex']:30} "
                    f"median {row['ms']['median']:6.1f} ms")  # fmt: skip

    def channels(self, server: Server) -> None:
        count = self.args.channels
        for name in ("harness", "paramiko", "asyncssh", "ssh"):
            try:
                sample = self.clients[name].channels(server.target, count)
            except Unsupported as exc:
                self.results["channels"].append({"server": server.label, "client": name, "skipped": str(exc)})
                continue
            except Exception as exc:
                self.results["errors"].append(f"channels {name}: {type(exc).__name__}: {exc}")
                continue
            row = {"server": server.label, "client": name, "count": count,
                   "ms_per_channel": round(1000 * sample.wall / count, 3),
                   "client_cpu_ms_per_channel": round(1000 * sample.cpu / count, 3)}  # fmt: skip
            self.results["channels"].append(row)
            log(f"  {count} channels {name:9} {row['ms_per_channel']:6.2f} ms/channel "
                f"(client CPU {row['client_cpu_ms_per_channel']:.2f} ms)")  # fmt: skip

    # -- memory and profiles ----------------------------------------------------------------

    def memory(self, server: Server) -> None:
        size = self.args.memory_mib * MiB
        code = (
            "import json,sys;from pathlib import Path;from harness.benchmark.clients import Ours,Target,CIPHERS\n"
            "def hwm():\n"
            "    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
            "t=Target(*sys.argv[1:5],Path(sys.argv[5]),Path(sys.argv[6]))\n"
            "t.port=int(t.port);o=Ours();marks={}\n"
            "o.bulk(t,CIPHERS[0],'down',1<<20)\n"
            "def probe(): marks['before']=hwm()\n"
            "o.bulk(t,CIPHERS[0],'down',int(sys.argv[7]),probe)\n"
            "print(json.dumps({'before_kib':marks['before'],'after_kib':hwm()}))\n"
        )  # fmt: skip
        tg = server.target
        root = Path(__file__).resolve().parents[2]
        r = subprocess.run([sys.executable, "-c", code, tg.name, tg.host, str(tg.port), tg.user, str(tg.key),
                            str(tg.known_hosts), str(size)], capture_output=True, text=True, cwd=root,
                           timeout=600)  # fmt: skip
        try:
            data = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.results["errors"].append(f"memory probe failed: {r.stderr[-500:]}")
            return
        growth = (data["after_kib"] - data["before_kib"]) / 1024
        self.results["memory"] = {"transfer_mib": self.args.memory_mib, **data, "growth_mib": round(growth, 1)}
        log(f"  peak RSS during a {self.args.memory_mib} MiB download: +{growth:.1f} MiB")

    def profile(self, server: Server, algs: Any, direction: str, size: int) -> list[str]:
        """cProfile of every thread of our client for one transfer; top entries by own time."""
        return profile_threads(lambda: Ours().bulk(server.target, algs, direction, size))


@contextlib.contextmanager
def started(starter: Callable[[], Server], errors: list[str], what: str) -> Iterator[Server | None]:
    try:
        server = starter()
    except Exception as exc:
        errors.append(f"{what} did not start: {type(exc).__name__}: {exc}")
        log(f"  {what} did not start: {exc}")
        yield None
        return
    try:
        yield server
    finally:
        server.stop()


def sftp_section(args: argparse.Namespace, res: dict[str, Any], work: Path, sshd: Server | None) -> None:
    """The SFTP section against sshd 9.2 (the one this run started, or the bookworm container with
    ``--sftp-server docker``); results in ``res["sftp"]``, a cProfile pass where a target is missed."""
    errors = res["errors"]
    if args.sftp_size < MIN_THROUGHPUT_MIB:  # every SFTP figure is a rate: nothing to show
        res["sftp_skipped"] = (f"--sftp-size {args.sftp_size:g} MiB is below {MIN_THROUGHPUT_MIB} MiB: "
                               "too small for a MB/s figure")  # fmt: skip
        log(f"== sftp: skipped ({res['sftp_skipped']})")
        return

    def measure_on(server: Server) -> None:
        if server.home is None:
            errors.append(f"sftp: {server.label} has no home on this machine to plant the file in")
            return
        target = sftp.SFTPTarget(server.label, server.version, server.target, server.home)
        log(f"== sftp: get and put of {args.sftp_size:g} MiB vs {server.label} ({server.version})")
        result = sftp.measure(target, work / "sftp", args.sftp_size, args.sftp_reps, log=log)
        if not args.no_profile and any(t["met"] is False for t in sftp.targets(result)):
            log("== profile: our SFTP client, get and put")
            result["profile"] = sftp.profile(target, work / "sftp", min(args.sftp_size, 64))
        res["sftp"] = result

    if args.sftp_server == "docker":
        with started(lambda: start_docker_openssh("openssh-9.2"), errors, "openssh-9.2 (docker)") as server:
            if server is not None:
                measure_on(server)
    elif sshd is not None:
        measure_on(sshd)
    else:
        with started(start_sshd, errors, "sshd") as server:
            if server is not None:
                measure_on(server)


def run_sftp_only(args: argparse.Namespace) -> int:
    """``harness bench --only sftp``: the SFTP section alone, written like a full run."""
    started_at = time.monotonic()
    date = datetime.datetime.now(datetime.UTC)
    res: dict[str, Any] = {"date": date.isoformat(timespec="seconds"), "machine": machine_info(),
                           "load_start": loadavg(), "sections": ["sftp"], "errors": []}  # fmt: skip
    log(f"harness bench --only sftp: {args.sftp_size:g} MiB x {args.sftp_reps} repetitions, {os.cpu_count()} CPUs, "
        f"load {loadavg()}")  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="harness-bench-sftp-"))
    try:
        sftp_section(args, res, work, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["targets"] = report.targets(res)
    return write_results(args, res, date, started_at)


def write_results(args: argparse.Namespace, res: dict[str, Any], date: datetime.datetime, started_at: float) -> int:
    """bench.json and summary.md under ``args.out/<UTC date>-<host>/``, the table and summary printed."""
    res["load_end"] = loadavg()
    res["elapsed_s"] = round(time.monotonic() - started_at, 1)
    out = Path(args.out) / f"{date.strftime('%Y%m%dT%H%M%SZ')}-{platform.node() or 'host'}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(res, indent=1) + "\n")
    sink = getattr(args, "result_sink", None)
    if sink is not None:  # --json: the same document, with where it was written
        sink.update(res, out=str(out))
    summary = report.markdown(res)
    (out / "summary.md").write_text(summary)
    print()
    print(report.table(res))
    print()
    print(summary)
    log(f"wrote {out}/bench.json and summary.md in {res['elapsed_s']:.0f} s")
    return 0


def run(args: argparse.Namespace) -> int:
    """``harness bench``; with ``--json`` the result document is the only thing on stdout."""
    if getattr(args, "quick", False):
        for name, value in QUICK.items():
            setattr(args, name, value)
    if getattr(args, "json", False):
        from harness.jsonout import emit_json

        document: dict[str, Any] = {}
        args.result_sink = document
        return emit_json(lambda: (_run(args), document))
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.only == "sftp":
        return run_sftp_only(args)
    started_at = time.monotonic()
    date = datetime.datetime.now(datetime.UTC)
    bench = Bench(args)
    res = bench.results
    res.update({"date": date.isoformat(timespec="seconds"), "machine": machine_info(), "load_start": loadavg(),
                "size_mib": args.size, "reps": args.reps, "sections": ["all"]})  # fmt: skip
    log(f"harness bench: {args.size} MiB x {args.reps} repetitions, {os.cpu_count()} CPUs, load {loadavg()}")
    try:
        log("== ceiling: cryptography alone and our packet layer (CPU ms per MB, 32 KiB packets)")
        res["ceiling"] = ceiling.measure()
        for row in res["ceiling"]:
            log(f"  {row['cipher']:29} raw seal/open {row['raw_seal_ms_per_mb']:.3f}/{row['raw_open_ms_per_mb']:.3f}"
                f"  framed {row.get('framed_seal_ms_per_mb')}/{row.get('framed_open_ms_per_mb')}")  # fmt: skip
        ciphers = [c for c in CIPHERS if not args.cipher or c.label in args.cipher]
        errors = res["errors"]
        windows: dict[str, Any] = {
            "harness client": {"window": 2 * MiB, "max_packet": 32768},
            "paramiko": {"window": 2097152, "max_packet": 32768},
            "asyncssh": {"window": 2 * MiB, "max_packet": 32768},
            "ssh": {"window": "2 MiB", "max_packet": 32768, "home": "empty HOME, -F /dev/null"},
        }
        with started(start_sshd, errors, "sshd") as sshd, started(start_dropbear, errors, "dropbear") as dropbear:
            servers = [s for s in (sshd, dropbear) if s is not None]
            for s in servers:
                windows[s.label] = s.settings
                res.setdefault("servers", {})[s.label] = s.version
            if sshd is not None:
                sshd_algs = _offered_ciphers(sshd)
                log(f"== bulk vs sshd ({sshd.version})")
                bench.bulk([sshd], lambda s: [c for c in ciphers if c in sshd_algs], ["harness", "paramiko",
                           "asyncssh", "ssh"], "sshd")  # fmt: skip
            if dropbear is not None and not args.quick:
                db_algs = _offered_ciphers(dropbear)
                chosen = [c for c in db_algs if c.label in args.dropbear_ciphers]
                log(f"== bulk vs Dropbear ({dropbear.version}): {[c.label for c in chosen]}")
                bench.bulk([dropbear], lambda s: chosen, ["harness", "paramiko", "asyncssh", "ssh"], "dropbear")
            with started(lambda: start_our_server(_client_key()), errors, "harness serve") as ours:
                if ours is not None:
                    windows[ours.label] = ours.settings
                    res.setdefault("servers", {})[ours.label] = ours.version
                    server_ciphers = [c for c in ciphers if c.label in args.server_ciphers]
                    log("== bulk vs our server (harness serve)")
                    bench.bulk([ours], lambda s: server_ciphers, ["ssh", "paramiko", "asyncssh", "harness"],
                               "harness-server")  # fmt: skip
            log("== handshake to the first command's exit status")
            kex_methods = [k for k in KEX_METHODS if not args.kex or k in args.kex]
            bench.handshakes(servers, lambda s: [k for k in kex_methods if k in _offered_kex(s)])
            if "mlkem768x25519-sha256" in kex_methods:
                skipped_reason = None
                for s in servers:
                    if "mlkem768x25519-sha256" not in _offered_kex(s):
                        res["handshake"].append({"server": s.label, "kex": "mlkem768x25519-sha256",
                                                 "skipped": f"{s.version} does not offer it"})  # fmt: skip
                if not args.no_docker:
                    with started(start_docker_openssh10, errors, "openssh-10.0 (docker)") as o10:
                        if o10 is not None:
                            res.setdefault("servers", {})[o10.label] = o10.version
                            bench.handshakes([o10], lambda s: ["mlkem768x25519-sha256", "curve25519-sha256"])
                        else:
                            skipped_reason = "the Docker peer openssh-10.0 did not start"
                else:
                    skipped_reason = "--no-docker"
                if skipped_reason:
                    res["handshake"].append({"server": "openssh-10.0 (docker)", "kex": "mlkem768x25519-sha256",
                                             "skipped": skipped_reason})  # fmt: skip
            if sshd is not None and args.channels:
                log(f"== {args.channels} channels on one connection (sshd)")
                bench.channels(sshd)
            if sshd is not None and args.memory_mib:
                log("== memory")
                bench.memory(sshd)
            if args.sftp_reps:
                sftp_section(args, res, bench.work, sshd)
            res["windows"] = windows
            res["targets"] = report.targets(res)
            if sshd is not None and not args.no_profile:
                profiles = {}
                for t in res["targets"]:
                    if t["met"] is False and t.get("profile"):
                        algs_label, direction = t["profile"]
                        algs = next(c for c in CIPHERS if c.label == algs_label)
                        key = f"{algs_label} {direction}"
                        if key not in profiles:
                            log(f"== profile: our client, {key}")
                            profiles[key] = bench.profile(sshd, algs, direction, min(bench.size, 64 * MiB))
                        t["hotspots"] = profiles[key]
                res["profiles"] = profiles
    finally:
        bench.close()
    return write_results(args, res, date, started_at)


def _client_key() -> Path:
    from harness.peers.base import client_keys

    return Path(client_keys()["ed25519"])


def _offered_ciphers(server: Server) -> list[Any]:
    """The benchmark ciphers this server offers (asked from its KEXINIT by the launcher)."""
    algs = getattr(server, "algorithms", None) or {}
    if not algs:
        return list(CIPHERS)
    return [c for c in CIPHERS if c.cipher in algs.get("cipher_c2s", ()) and
            (not c.mac or c.mac in algs.get("mac_c2s", ()))]  # fmt: skip


def _handshake_cipher(server: Server) -> Any:
    """aes128-gcm where offered (every client has it), else aes128-ctr + hmac-sha2-256."""
    offered = _offered_ciphers(server)
    return CIPHERS[0] if CIPHERS[0] in offered else CIPHERS[2]


def _offered_kex(server: Server) -> list[str]:
    algs = getattr(server, "algorithms", None) or {}
    return list(algs.get("kex", KEX_METHODS))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=float, default=256, help="MiB per bulk transfer (default 256)")
    p.add_argument("--reps", type=int, default=3, help="repetitions of every bulk figure (default 3)")
    p.add_argument("--handshakes", type=int, default=11, help="logins per client, server and kex (default 11)")
    p.add_argument("--channels", type=int, default=1000, help="channels on one connection (0 = skip)")
    p.add_argument("--memory-mib", type=int, default=1024, help="size of the memory probe's download (0 = skip)")
    p.add_argument("--cipher", action="append", help="only this cipher label (repeatable)")
    p.add_argument("--kex", action="append", help="only this kex method (repeatable)")
    p.add_argument("--server-ciphers", nargs="*", default=["aes128-gcm", "aes128-ctr+hmac-sha2-256"],
                   help="cipher labels for the our-server section")  # fmt: skip
    p.add_argument(
        "--dropbear-ciphers",
        nargs="*",
        default=["aes128-ctr+hmac-sha2-256"],
        help="cipher labels for the Dropbear section (2022.83 has no GCM; paramiko no ChaCha20)",
    )
    p.add_argument("--no-docker", action="store_true", help="skip the OpenSSH 10 Docker peer (mlkem768x25519)")
    p.add_argument("--no-profile", action="store_true", help="no cProfile pass for missed targets")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run in under a minute: 4 MiB transfers (flagged too small for MB/s), "
                        "one repetition, one cipher and kex, no Dropbear, Docker, memory, SFTP or profile "
                        "sections")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result document as JSON on stdout (nothing else)")
    p.add_argument("--out", default="bench/results", help="results directory (a subdirectory per run)")
    p.add_argument("--only", choices=("sftp",), help="run only this section (sftp: the SFTP get/put comparison)")
    p.add_argument("--sftp-size", type=float, default=128, help="MiB of the SFTP section's random file (default 128)")
    p.add_argument("--sftp-reps", type=int, default=3, help="repetitions of the SFTP section (default 3; 0 = skip)")
    p.add_argument("--sftp-server", choices=("sshd", "docker"), default="sshd",
                   help="OpenSSH 9.2 for the SFTP section: local sshd (default) or the bookworm container")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
