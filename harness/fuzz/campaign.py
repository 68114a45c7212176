"""Campaigns (libFuzzer through atheris) and the replay of seeds and regression inputs.

``harness fuzz TARGET --jobs N --time 10m`` runs ``python -m harness.fuzz.fuzz_TARGET`` under
libFuzzer with the target's seed corpus (``corpus/TARGET``, read-only) and the SSH dictionary;
new coverage goes to a working corpus under ``results/fuzz/TARGET`` (git-ignored). With
``--jobs N > 1`` libFuzzer's ``-fork=N`` runs N worker processes that share one corpus.
Progress is printed as libFuzzer reports it. Every crash, timeout or out-of-memory artifact is
reproduced in-process, minimized (:mod:`harness.fuzz.minimize`) and written to
``corpus/regressions/TARGET/`` with a note; the test suite replays those files forever.

A regression's note starts with ``key: value`` lines; ``status: open`` means the bug is not
fixed yet (the test expects the failure, strictly), ``status: fixed`` means it must pass.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.fuzz import TARGETS
from harness.fuzz.common import ARGV0_ENV
from harness.fuzz.minimize import Finding, hang_location, minimize, reproduce, target_function
from harness.resources import data_root, work_root

ROOT = data_root()  # the checkout, or the installed wheel's copy of corpus/
CORPUS = ROOT / "corpus"
DICTIONARY = CORPUS / "dictionaries" / "ssh.dict"
REGRESSIONS = CORPUS / "regressions"
WORK = work_root() / "results" / "fuzz"  # results/ is git-ignored: campaign corpora never land in git
ARTIFACT_KINDS = ("crash", "timeout", "oom", "leak", "slow-unit")
# libFuzzer's per-input timeout: the slowest legitimate input (an 8192-bit group exchange
# with a fuzzed prime, a 16384-bit RSA signature check) takes well under a second.
INPUT_TIMEOUT = 10
RSS_LIMIT_MB = 2048


def parse_duration(text: str) -> int:
    """'90' / '90s' / '5m' / '2h' -> seconds."""
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise ValueError(f"bad duration {text!r}: use e.g. 90, 90s, 5m, 2h")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


# -- regression notes --------------------------------------------------------------------------------


@dataclass
class Regression:
    target: str
    path: Path  # the input
    meta: dict[str, str]

    @property
    def status(self) -> str:
        return self.meta.get("status", "fixed")

    @property
    def reason(self) -> str:
        return self.meta.get("reason") or self.meta.get("exception", "open bug")


def read_note(path: Path) -> dict[str, str]:
    meta: dict[str, str] = {}
    if not path.exists():
        return meta
    for line in path.read_text().splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip()
    return meta


def _shown(path: Path) -> Path:
    """``path`` relative to the repository when it is inside it (notes and messages), else as is."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def regressions(target: str | None = None, root: Path = REGRESSIONS) -> list[Regression]:
    out = []
    names = [target] if target else sorted(TARGETS)
    for name in names:
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix == ".md" or path.name.startswith("."):
                continue
            out.append(Regression(name, path, read_note(path.with_suffix(".md"))))
    return out


def seeds(target: str) -> list[Path]:
    folder = CORPUS / target
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def _hexdump(data: bytes, limit: int = 512) -> str:
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off : off + 16]
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{off:04x}  {chunk.hex(' '):<47}  {text}")
    if len(data) > limit:
        lines.append(f"... ({len(data)} bytes)")
    return "\n".join(lines)


def write_regression(target: str, data: bytes, finding: Finding | None, kind: str, origin: str,
                     extra: str = "", root: Path = REGRESSIONS) -> Path | None:  # fmt: skip
    """Save a finding as ROOT/TARGET/NAME(.md) (``root``: corpus/regressions); None if that
    signature exists."""
    folder = root / target
    folder.mkdir(parents=True, exist_ok=True)
    signature = f"{kind}|{finding.signature if finding else ''}"
    for existing in regressions(target, root):
        if existing.meta.get("signature") == signature:
            return None
    name = f"{kind}-{hashlib.sha1(signature.encode()).hexdigest()[:10]}"
    path = folder / name
    path.write_bytes(data)
    summary = finding.exception.splitlines()[0] if finding else f"{kind} (see below)"
    note = [
        f"target: {target}",
        "status: open",
        f"found: {_dt.date.today().isoformat()} by {origin}",
        f"kind: {kind}",
        f"exception: {summary}",
        f"location: {finding.location if finding else '-'}",
        f"signature: {signature}",
        f"reason: {summary[:160]}",
        "",
        f"# {target}: {summary}",
        "",
        "Replay: `harness fuzz --replay " + target + "` or "
        f"`pytest tests/fuzz -k {name}`; the input is `{_shown(path)}`.",
        "",
    ]
    if finding:
        note += ["## Traceback", "", "```", finding.traceback.rstrip(), "```", ""]
    if extra:
        note += [extra, ""]
    note += ["## Input (minimized)", "", "```", _hexdump(data), "```", ""]
    path.with_suffix(".md").write_text("\n".join(note))
    return path


# -- campaign ------------------------------------------------------------------------------------------


def _wrapper(workdir: Path, module: str) -> Path:
    """An executable that runs the target, for libFuzzer to re-execute (-fork, -jobs)."""
    path = workdir / f"{module.rsplit('.', 1)[1]}.sh"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
    path.chmod(0o755)
    return path


_FIELDS = {name: re.compile(rx) for name, rx in (
    ("execs", r"^#(\d+)"), ("cov", r"cov: (\d+)"), ("corp", r"corp: (\d+)"),
    ("speed", r"exec/s:? (\d+)"), ("found", r"oom/timeout/crash: (\d+/\d+/\d+)"),
)}  # fmt: skip


def _progress(lines: Iterator[str], log, started: float) -> None:  # type: ignore[no-untyped-def]
    """Echo libFuzzer's output as one status line every few seconds, and every finding at once."""
    last = 0.0
    for line in lines:
        log.write(line)
        text = line.rstrip()
        if any(word in text for word in ("Uncaught Python exception", "ERROR:", "Test unit written",
                                         "crash-", "timeout-", "oom-", "DONE")):  # fmt: skip
            print(f"  {text}", flush=True)
            continue
        if not text.startswith("#"):
            continue
        now = time.monotonic()
        if now - last < 5:
            continue
        values = {k: (m.group(1) if (m := rx.search(text)) else "?") for k, rx in _FIELDS.items()}
        if values["execs"] == "?" or values["speed"] == "?":
            continue
        last = now
        found = f"  oom/timeout/crash {values['found']}" if values["found"] != "?" else ""
        print(f"  [{int(now - started):5d}s] execs {int(values['execs']):>11,}  cov {values['cov']:>6}  "
              f"corpus {values['corp']:>5}  exec/s {int(values['speed']):>7,}{found}", flush=True)  # fmt: skip


def run_campaign(target: str, jobs: int = 1, seconds: int | None = None, runs: int | None = None,
                 workdir: Path | None = None, keep_going: bool = False,
                 libfuzzer_args: list[str] | None = None) -> int:  # fmt: skip
    """Run one campaign; returns 0 if nothing was found, 1 if findings were written."""
    info = TARGETS[target]
    work = Path(workdir) if workdir else WORK / target
    corpus_dir = work / "corpus"
    artifacts = work / "artifacts"
    for folder in (corpus_dir, artifacts):
        folder.mkdir(parents=True, exist_ok=True)
    wrapper = _wrapper(work, info.module)
    seed_dir = CORPUS / target
    regress_dir = REGRESSIONS / target
    dirs = [str(corpus_dir), str(seed_dir)] + ([str(regress_dir)] if regress_dir.is_dir() else [])
    args = [str(wrapper), *dirs, f"-max_len={info.max_len}", f"-artifact_prefix={artifacts}/",
            f"-timeout={INPUT_TIMEOUT}", f"-rss_limit_mb={RSS_LIMIT_MB}", "-print_final_stats=1"]  # fmt: skip
    if DICTIONARY.exists():
        args.append(f"-dict={DICTIONARY}")
    if jobs > 1:
        args.append(f"-fork={jobs}")
        if keep_going:
            args += ["-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    if seconds:
        args.append(f"-max_total_time={seconds}")
    if runs:
        args.append(f"-runs={runs}")
    args += libfuzzer_args or []
    env = dict(os.environ)
    env[ARGV0_ENV] = str(wrapper)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    before = {p.name for p in artifacts.iterdir()}
    print(f"fuzzing {target} ({info.summary})\n  oracle: {info.oracle}")
    print(f"  jobs {jobs}, time {seconds or 'unlimited'}s, working dir {work}\n  $ {' '.join(args)}", flush=True)
    started = time.monotonic()
    with open(work / "fuzz.log", "w") as log:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env, cwd=work)  # fmt: skip
        assert proc.stdout is not None
        try:
            _progress(iter(proc.stdout.readline, ""), log, started)
        except KeyboardInterrupt:
            proc.terminate()
        code = proc.wait()
    elapsed = time.monotonic() - started
    print(f"libFuzzer exited with {code} after {elapsed:.0f}s (log: {work / 'fuzz.log'})")
    if not artifacts.is_dir():  # something removed the working directory under us
        print(f"  warning: {artifacts} disappeared during the campaign; findings (if any) are lost")
        return 1 if code else 0
    new = sorted(p for p in artifacts.iterdir() if p.name not in before and p.name.startswith(ARTIFACT_KINDS))
    written = 0
    for artifact in new:
        path = triage(target, artifact, f"`harness fuzz {target}` (libFuzzer artifact {artifact.name})")
        if path is not None:
            written += 1
            print(f"  finding: {path.relative_to(ROOT)} (+ .md note)")
    if new and not written:
        print("  (artifacts matched known regressions; nothing new written)")
    return 1 if new else 0


def triage(target: str, artifact: Path, origin: str) -> Path | None:
    """Reproduce, minimize and record one artifact; None if it is a known signature."""
    kind = artifact.name.split("-")[0] if not artifact.name.startswith("slow-unit") else "slow-unit"
    data = artifact.read_bytes()
    if kind == "crash":
        fn = target_function(target)
        finding = reproduce(fn, data)
        if finding is None:
            return write_regression(target, data, None, "flaky", origin,
                                    "libFuzzer saw a crash that does not reproduce in-process (state leaking "
                                    "between inputs?). The input is the raw artifact.")  # fmt: skip
        small = minimize(fn, data)
        return write_regression(target, small, reproduce(fn, small) or finding, "crash", origin)
    # Timeouts and OOMs: measure in a subprocess (the input may never finish), keep the raw input.
    # The subprocess dumps its stack once the input has run for the per-input timeout, which
    # names where it hangs: the regression's signature, so two different hangs stay two findings.
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "harness.fuzz.campaign", "--one", target, str(artifact)],
                              timeout=120, capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        took = f"{time.monotonic() - started:.1f}s in a fresh process"
        stack = done.stderr
    except subprocess.TimeoutExpired as exc:
        took = "more than 120s (killed)"
        stack = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    location = hang_location(stack)
    finding = None if location == "-" else Finding(f"{kind} in {location}", kind, location, stack[-4000:])
    return write_regression(target, data, finding, kind, origin, f"Replaying it took {took}.")


# -- replay ---------------------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    path: Path
    kind: str  # "seed" or "regression"
    finding: Finding | None
    expected_failure: bool  # an open regression

    @property
    def ok(self) -> bool:
        return (self.finding is not None) == self.expected_failure


def replay(targets: list[str] | None = None) -> list[ReplayResult]:
    results = []
    for target in targets or sorted(TARGETS):
        fn = target_function(target)
        for path in seeds(target):
            results.append(ReplayResult(path, "seed", reproduce(fn, path.read_bytes()), False))
        for reg in regressions(target):
            if reg.meta.get("kind") in ("timeout", "oom", "slow-unit"):
                continue  # replayed by the test suite under a time limit, not here
            results.append(ReplayResult(reg.path, "regression", reproduce(fn, reg.path.read_bytes()),
                                        reg.status == "open"))  # fmt: skip
    return results


def print_replay(results: list[ReplayResult]) -> int:
    bad = [r for r in results if not r.ok]
    by_target: dict[str, list[ReplayResult]] = {}
    for r in results:
        by_target.setdefault(r.path.parent.name, []).append(r)
    for target, rs in by_target.items():
        n_seed = sum(1 for r in rs if r.kind == "seed")
        n_reg = len(rs) - n_seed
        open_ = sum(1 for r in rs if r.expected_failure and r.ok)
        print(f"{target:12} {n_seed:5} seeds, {n_reg:3} regressions ({open_} known open)")
    for r in bad:
        rel = r.path.relative_to(ROOT)
        if r.expected_failure:
            print(f"  PASSES NOW (mark it fixed in its .md): {rel}")
        else:
            print(f"  FAILS: {rel}: {r.finding.exception if r.finding else ''}")
    return 1 if bad else 0


def add_arguments(parser) -> None:  # type: ignore[no-untyped-def]
    """The ``harness fuzz`` subcommand's options (harness/cli.py only wires them up)."""
    parser.add_argument("target", nargs="?", help=f"one of {', '.join(TARGETS)}")
    parser.add_argument("--jobs", type=int, default=1, help="parallel workers (libFuzzer -fork=N)")
    parser.add_argument("--time", default=None, help="campaign length: 90, 90s, 5m, 2h (default: until stopped)")
    parser.add_argument("--runs", type=int, default=None, help="stop after this many executions")
    parser.add_argument("--workdir", default=None, help="working corpus and artifacts (default results/fuzz/TARGET)")
    parser.add_argument("--keep-going", action="store_true", help="with --jobs > 1: continue after findings")
    parser.add_argument("--replay", action="store_true", help="replay every seed and regression input and exit")
    parser.add_argument("--seeds", action="store_true", help="re-extract seeds and the dictionary from transcripts")
    parser.add_argument("--list", action="store_true", help="list targets and their oracles")
    parser.add_argument("--libfuzzer", action="append", default=[], metavar="FLAG",
                        help="extra libFuzzer flag (repeatable), written with '=': --libfuzzer=-use_value_profile=1")


def cli(args) -> int:  # type: ignore[no-untyped-def]
    from harness.fuzz import PENDING

    if args.list:
        for info in TARGETS.values():
            print(f"{info.name:11} {info.summary}")
            print(f"{'':11} oracle: {info.oracle}")
        for name, why in PENDING.items():
            print(f"{name:11} (pending) {why}")
        return 0
    if args.seeds:
        from harness.fuzz.seeds import extract

        for name, count in extract(targets=[args.target] if args.target else None).items():
            print(f"{name:12} {count}")
        return 0
    if args.replay:
        return print_replay(replay([args.target] if args.target else None))
    if args.target not in TARGETS:
        print(f"choose a target: {', '.join(TARGETS)} (pending: {', '.join(PENDING)})", file=sys.stderr)
        return 2
    seconds = parse_duration(args.time) if args.time else None
    return run_campaign(args.target, args.jobs, seconds, args.runs, Path(args.workdir) if args.workdir else None,
                        args.keep_going, args.libfuzzer)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.fuzz.campaign --one TARGET FILE``: run one input (used for timeouts)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "--one":
        import faulthandler

        fn = target_function(args[1])
        data = Path(args[2]).read_bytes()
        # A hanging input prints where it is stuck (stderr) and the process ends: triage reads it.
        faulthandler.dump_traceback_later(INPUT_TIMEOUT, exit=True)
        fn(data)
        faulthandler.cancel_dump_traceback_later()
        return 0
    print("usage: python -m harness.fuzz.campaign --one TARGET FILE (campaigns: `harness fuzz`)")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
