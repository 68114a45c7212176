"""pytest integration: every scenario x peer is one test item.

Registered by ``scenarios/conftest.py`` (unless already there), ``-p harness.scenario.pytest_plugin``
or the package's ``pytest11`` entry point. Options: ``--peer`` / ``--launcher`` (shared with
tests/conftest.py: registered only if not there yet), ``--client-peer``, ``--scenario-seed``,
``--scenario-report DIR`` (JSON, Markdown and HTML written at the end of the session, also
under pytest-xdist); the user's own peers and scenario folders (``--target``, ``--client-command``,
``--peers-file``, ``--expectations``...) are harness.scenario.collect's (docs/TARGETS.md).
Cells against a server peer carry an ``xdist_group`` mark per peer, so with ``--dist loadgroup``
each server is started by one worker only; cells against a client peer start a client process
of their own and go to whichever worker is free.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from harness.resources import scenarios_dir
from harness.scenario import seeds
from harness.scenario.execute import ERROR, FAIL, NA, OUTCOME_CHANGED, PASS, XFAIL, XPASS, Result, run_one
from harness.scenario.expectations import Expectations
from harness.scenario.model import CLIENT, Scenario, load_scenario_file
from harness.scenario.pins import Pins

SCENARIO_ROOT = scenarios_dir().resolve()  # the checkout's, the installed wheel's, or $HARNESS_SCENARIOS
_POOL: Any = None
_EXPECTATIONS: Expectations | None = None
_EXPECTATIONS_DIR = SCENARIO_ROOT / "expectations"  # --expectations DIR replaces it


def _add(group: Any, *names: str, **kwargs: Any) -> None:
    try:
        group.addoption(*names, **kwargs)
    except ValueError:  # already registered (tests/conftest.py in the same run)
        pass


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness peers")
    _add(group, "--peer", action="append", default=[], metavar="ID",
         help="server peer id, or a group: default, zoo, all (repeatable; default: the default set)")  # fmt: skip
    _add(group, "--launcher", choices=("docker", "process"), default=None,
         help="how to start peers (default: docker if an engine answers, else process)")  # fmt: skip
    # tests/conftest.py registers the same two options in the same group; when it is loaded after
    # this file (`pytest scenarios tests`), its registration must not clash with ours.
    original = group.addoption

    def addoption_once(*names: str, **kwargs: Any) -> None:
        try:
            original(*names, **kwargs)
        except ValueError:
            if not set(names) <= {"--peer", "--launcher"}:
                raise

    group.addoption = addoption_once  # type: ignore[method-assign]
    group = parser.getgroup("harness scenarios")
    _add(group, "--client-peer", action="append", default=[], metavar="ID",
         help="client peer for server-role scenarios, or a group: default, zoo, all (repeatable)")  # fmt: skip
    _add(group, "--scenario-seed", type=int, default=None,
         help="base seed of every scenario's randomness (default: random, printed in the header)")  # fmt: skip
    _add(group, "--scenario-report", default=None, metavar="DIR",
         help="write results.json, matrix.md, matrix.html and junit.xml to DIR")  # fmt: skip
    _add(group, "--update-outcomes", action="store_true", default=False,
         help="rewrite the pinned outcomes of the cells that ran and print what changed")  # fmt: skip
    _add(group, "--add-outcomes", action="store_true", default=False,
         help="add each changed outcome to its pin as an alternative (timing-dependent reactions)")  # fmt: skip
    _add(group, "--require-pins", action="store_true", default=False,
         help="a cell without a pinned outcome fails (CI: every cell of the default run is pinned)")  # fmt: skip
    _add(group, "--scenario-shard", default=None, metavar="I/N",
         help="run only shard I of N (deterministic; harness/scenario/shard.py)")  # fmt: skip
    from harness.scenario.collect import add_user_peer_options

    add_user_peer_options(group)


def pytest_configure(config: pytest.Config) -> None:
    global _EXPECTATIONS, _EXPECTATIONS_DIR, _PINS
    from harness.scenario.collect import configure_user_peers

    # --expectations DIR and the user's peers (--target, --client-command, peers.toml) first:
    # the checks below read the manifests from there.
    _EXPECTATIONS, _PINS, _EXPECTATIONS_DIR = None, None, configure_user_peers(config, _EXPECTATIONS_DIR)
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) picks the seed
        seed = seeds.base_seed(config.getoption("scenario_seed", None))
        config.option.scenario_seed = seed
        os.environ[seeds.ENV_SEED] = str(seed)
        _check_scenario_files()
        if _updating(config) and not config.getoption("scenario_report", None):
            os.environ["HARNESS_PIN_RAW"] = tempfile.mkdtemp(prefix="harness-pins-")  # shared with workers
    config.addinivalue_line("markers", "scenario: a scripted scenario against one peer")
    if config.getoption("scenario_shard", None) and not config.pluginmanager.has_plugin("harness-shard"):
        from harness.scenario import shard

        config.pluginmanager.register(shard, "harness-shard")
    if os.environ.get("HARNESS_PCAP_DIR") and not config.pluginmanager.has_plugin("harness-capture"):
        from harness.scenario import capture_plugin

        config.pluginmanager.register(capture_plugin, "harness-capture")


def _check_scenario_files() -> None:
    """A broken scenario file or expectations manifest is a UsageError naming the file, raised
    once by the controller: otherwise every xdist worker fails collection with an INTERNALERROR."""
    import traceback

    from harness.scenario.expectations import ExpectationError
    from harness.scenario.model import discover

    try:
        every = discover(SCENARIO_ROOT)
    except Exception as exc:
        where = [f"{fr.filename}:{fr.lineno}" for fr in traceback.extract_tb(exc.__traceback__)
                 if Path(fr.filename).resolve().is_relative_to(SCENARIO_ROOT)]  # fmt: skip
        if isinstance(exc, SyntaxError) and exc.filename:
            where = [f"{exc.filename}:{exc.lineno}"]
        culprit = f" {where[-1]}" if where else ""
        raise pytest.UsageError(f"bad scenario file{culprit}: {type(exc).__name__}: {exc}") from exc
    if _EXPECTATIONS_DIR != SCENARIO_ROOT / "expectations":
        return  # the user's manifests name the user's scenarios: checked at collection
    try:
        expectations().check_ids({v for s in every for v, _ in s.variants()}, {s.id for s in every})
    except ExpectationError as exc:
        raise pytest.UsageError(f"bad expectations manifest: {exc}") from exc


def pytest_report_header(config: pytest.Config) -> list[str]:
    seed = config.getoption("scenario_seed", None)
    return [f"scenario base seed: {seed} (re-run with --scenario-seed {seed})"]


def _launcher(config: pytest.Config) -> str:
    from harness.peers.registry import default_launcher

    return config.getoption("launcher", None) or default_launcher()


def _server_peers(config: pytest.Config) -> list[str]:
    cache = getattr(config, "_scenario_server_peers", None)
    if cache is None:
        from harness.peers.registry import default_peer_ids
        from harness.scenario.collect import chosen_peers

        cache = chosen_peers(config, "server", lambda: default_peer_ids(_launcher(config)))
        config._scenario_server_peers = cache  # type: ignore[attr-defined]
    return cache


def _client_peers(config: pytest.Config) -> list[str]:
    from harness.scenario.collect import chosen_peers
    from harness.scenario.peers import client_peer_ids

    return chosen_peers(config, "client", client_peer_ids)


_PINS: Pins | None = None


def pins() -> Pins:
    global _PINS
    if _PINS is None:
        _PINS = Pins(_EXPECTATIONS_DIR / "pins")
    return _PINS


def _updating(config: pytest.Config) -> bool:
    return bool(config.getoption("update_outcomes", False) or config.getoption("add_outcomes", False))


def expectations() -> Expectations:
    global _EXPECTATIONS
    if _EXPECTATIONS is None:
        _EXPECTATIONS = Expectations.load(_EXPECTATIONS_DIR)
    return _EXPECTATIONS


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from harness.scenario.collect import find_root, scenario_roots

    root = find_root(file_path, scenario_roots(parent.config))  # the repository's scenarios/ or a folder named
    if root is None:
        return None
    node = ScenarioFile.from_parent(parent, path=file_path)
    node.scenario_root = root
    return node


class ScenarioFile(pytest.File):
    scenario_root: Path = SCENARIO_ROOT

    def collect(self):  # type: ignore[no-untyped-def]
        scenario = load_scenario_file(self.path, self.scenario_root)
        peers = _server_peers(self.config) if scenario.role == CLIENT else _client_peers(self.config)
        for variant, params in scenario.variants():
            suffix = variant[len(scenario.id):]  # "" or "[param]"
            base = self.path.stem
            param = suffix[1:-1] + "@" if suffix else ""
            positions = ("first", "last") if scenario.first_and_last else ("",)
            for peer in peers:
                for pos in positions:
                    name = f"{base}[{param}{pos + '@' if pos else ''}{peer}]"
                    item = ScenarioItem.from_parent(self, name=name, scenario=scenario, variant=variant,
                                                    params=params, peer=peer, position=pos)  # fmt: skip
                    if scenario.role == CLIENT:  # one worker starts (and reuses) this server peer
                        item.add_marker(pytest.mark.xdist_group(peer))
                    item.add_marker(pytest.mark.scenario)
                    yield item


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> None:
    order = {"first": 0, "": 1, "last": 2}
    items.sort(key=lambda it: order.get(getattr(it, "position", ""), 1))
    if any(isinstance(it, ScenarioItem) for it in items):
        from harness.scenario.collect import every_scenario

        every = every_scenario(session)  # check expectation keys against all scenarios, not the selection
        known = {variant for s in every for variant, _ in s.variants()}
        expectations().check_ids(known, {s.id for s in every})


def pytest_collection_finish(session: pytest.Session) -> None:
    from harness.scenario.collect import check_something_collected

    check_something_collected(session)


class ScenarioFailed(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, variant: str, params: dict[str, Any], peer: str, position: str,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.scenario, self.variant, self.params = scenario, variant, params
        self.peer, self.position = peer, position
        self.result: Result | None = None

    def runtest(self) -> None:
        global _POOL
        base = int(self.config.getoption("scenario_seed", None) or seeds.base_seed())
        seed = seeds.derive(base, self.variant, self.peer)
        handle = None
        target = None
        from harness.scenario.collect import user_peers

        user = user_peers(self.config)  # the user's own peers (--target, --client-command, peers.toml)
        if self.scenario.role == CLIENT:
            from harness.peers.base import PeerError
            from harness.scenario.peers import PeerPool

            if _POOL is None:
                _POOL = PeerPool(_launcher(self.config))
            product = self.peer.split("-")[0]
            options = self.scenario.peer_options(product)
            user_na = user.not_applicable(self.peer, self.scenario, self.params) if self.peer in user.servers \
                else None  # fmt: skip
            if user_na or (not options and any(r.__class__.__name__ == "PeerOptions"
                                                    for r in self.scenario.requires)):  # fmt: skip
                result = Result(self.variant, self.scenario.area, self.peer, NA, seed=base,
                                reason=user_na or f"needs a peer started with special options; none for {product}")
                self._finish(result, base)
                return
            try:
                handle = user.server_handle(self.peer) if self.peer in user.servers else _POOL.get(self.peer, options)
            except PeerError as exc:
                result = Result(self.variant, self.scenario.area, self.peer, ERROR, message=str(exc), seed=base)
                self._finish(result, base)
                return
            info = handle.info
        elif self.peer in user.clients:
            from harness.peers.base import PeerError

            try:
                info, target = user.client(self.peer)
            except PeerError as exc:
                result = Result(self.variant, self.scenario.area, self.peer, ERROR, message=str(exc), seed=base)
                self._finish(result, base)
                return
        else:
            from harness.scenario.peers import ClientTarget, client_peer_info

            info = client_peer_info(self.peer)
            target = ClientTarget(info, mode=self.scenario.client_mode, auth=self.scenario.client_auth)
            if target.not_applicable():
                result = Result(self.variant, self.scenario.area, self.peer, NA, seed=base,
                                reason=target.not_applicable())  # fmt: skip
                self._finish(result, base)
                return
        exp = expectations().lookup(self.variant, self.scenario.id, self.peer)
        pin_file = pins().file(self.peer)

        def attempt(target: Any) -> Result:
            return run_one(self.scenario, self.variant, self.params, info, seed, exp, target,
                           pinned=pin_file.get(self.variant), pin_source=str(pin_file.path),
                           updating=_updating(self.config), crash=_crash_probe(handle, target))  # fmt: skip

        result = attempt(target)
        if result.status == FAIL and result.message.startswith(OUTCOME_CHANGED) and not self.position:
            # Once more, on a fresh connection: a reaction that timing decides shows up as
            # "flaky" (reported, not failed); a real change of behaviour fails twice.
            again = attempt(_fresh_target(target, user, self.peer))
            if not (again.status == FAIL and again.message.startswith(OUTCOME_CHANGED)):
                again.extra["flaky_outcome"] = result.outcome
                again.message = (f"flaky: outcome {result.outcome} once (pinned: {result.pin}), then "
                                 f"{again.outcome} on a re-run\n{again.message}").rstrip()  # fmt: skip
                result = again
        if self.position:
            result.scenario = f"{self.variant} ({self.position})"
            result.position = self.position
        elif (self.config.getoption("require_pins", False) and not result.pin and result.outcome
              and result.status not in (NA, ERROR) and not _updating(self.config)):  # fmt: skip
            result.status, result.verdict = FAIL, ""
            result.message = (f"no pinned outcome for this cell (now: {result.outcome}); record it "
                              f"with `harness run --update-outcomes`\n{result.message}").rstrip()  # fmt: skip
        if result.status in (FAIL, ERROR) and handle is not None:
            try:
                result.peer_log = handle.logs()[-3000:]
            except Exception as exc:
                result.peer_log = f"(peer log unavailable: {exc})"
        self._finish(result, base)

    def _finish(self, result: Result, base: int) -> None:
        result.role = self.scenario.role
        from harness.scenario.collect import rerun_options

        # The cell's own peer is named: it may be outside the default set the re-run would use.
        peer_option = "--peer" if self.scenario.role == CLIENT else "--client-peer"
        result.rerun = (seeds.rerun_command(self.nodeid, base) + rerun_options(self.config)
                        + f" {peer_option} {self.peer}")  # fmt: skip
        result.extra["nodeid"] = self.nodeid
        if self.peer != result.peer:  # a local binary names its release; its pins are the id's
            result.extra["pin_peer"] = self.peer
        self.result = result
        self.user_properties.append(("scenario_status", result.status))
        for key in ("outcome", "pin", "verdict", "branch"):
            if getattr(result, key):
                self.user_properties.append((key, getattr(result, key)))
        _write_raw(self.config, result)
        if result.status == NA:
            pytest.skip(f"not applicable: {result.reason}")
        if result.status == XFAIL:
            pytest.xfail(f"{result.reason} [{result.message.splitlines()[0][:300]}]")
        if result.status in (FAIL, ERROR, XPASS):
            raise ScenarioFailed(result)
        assert result.status == PASS

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            r = excinfo.value.result
            parts = [f"{r.status.upper()}: {r.scenario} against {r.peer}", r.message, "",
                     f"re-run alone: {r.rerun}", f"seed: {r.seed}"]  # fmt: skip
            if r.transcript:
                parts += ["", "--- decoded transcript (>> we sent, << peer sent) ---", r.transcript]
            if r.peer_log:
                parts += ["", f"--- log of {r.peer} (tail) ---", r.peer_log]
            return "\n".join(parts)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"scenario {self.variant} against {self.peer}"


def _fresh_target(target: Any, user: Any, peer: str) -> Any:
    """A new client target like ``target`` (a client run is used once); None for server peers."""
    if target is None:
        return None
    if peer in user.clients:
        return user.client(peer)[1]
    return type(target)(target.info, mode=target.mode, auth=target.auth)


def _crash_probe(handle: Any, target: Any) -> Any:
    """A callable saying how the peer died during the cell (None while it lives)."""

    def probe() -> str | None:
        report = getattr(target, "report", None)
        if callable(report):
            crashed = getattr(report(), "crashed", None)
            if crashed:
                return str(crashed)
        if handle is not None and not getattr(handle, "running", True):
            return "exited"
        return None

    return probe


def _raw_dir(config: pytest.Config) -> Path | None:
    report = config.getoption("scenario_report", None)
    if report:
        return Path(report) / ".raw"
    if _updating(config):  # pins are rewritten from the raw results even without a report
        return Path(os.environ.setdefault("HARNESS_PIN_RAW", tempfile.mkdtemp(prefix="harness-pins-")))
    return None


def _write_raw(config: pytest.Config, result: Result) -> None:
    raw = _raw_dir(config)
    if raw is None:
        return
    raw.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(result.extra["nodeid"].encode()).hexdigest() + ".json"
    row = result.to_json()
    if os.environ.get("HARNESS_PCAP_DIR") and config.getoption("scenario_report", None):
        from harness.scenario.capture_plugin import captures_for_row

        row.update(captures_for_row(Path(config.getoption("scenario_report"))))
    (raw / name).write_text(json.dumps(row))


def pytest_sessionstart(session: pytest.Session) -> None:
    raw = _raw_dir(session.config)
    if raw is not None and not hasattr(session.config, "workerinput") and raw.is_dir():
        for path in raw.glob("*.json"):
            path.unlink()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _POOL
    if _POOL is not None:
        _POOL.stop_all()
        _POOL = None
    from harness.scenario.collect import stop_user_peers

    stop_user_peers(session.config)
    raw = _raw_dir(session.config)
    if raw is None or hasattr(session.config, "workerinput") or not raw.is_dir():
        return
    from harness.scenario.pins import update
    from harness.scenario.report import write_reports

    results = [json.loads(p.read_text()) for p in sorted(raw.glob("*.json"))]
    seed = session.config.getoption("scenario_seed", None)
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    lines: list[str] = []
    if _updating(session.config):
        changes = update(pins().directory, results, add=bool(session.config.getoption("add_outcomes", False)))
        lines += [f"pinned outcomes: {len(changes)} change(s) in {pins().directory}", *changes]
    unpinned = sum(1 for r in results if r.get("outcome") and not r.get("pin") and not r.get("position"))
    if unpinned and not _updating(session.config):
        lines.append(f"{unpinned} cell(s) have no pinned outcome (harness run --update-outcomes records them)")
    if session.config.getoption("scenario_report", None):
        paths = write_reports(results, Path(session.config.getoption("scenario_report")), seed)
        lines.append("scenario reports: " + ", ".join(str(p) for p in paths))
    for path in raw.glob("*.json"):
        path.unlink()
    raw.rmdir()
    for line in lines:
        if tr is not None:
            tr.write_line(line)
        else:
            print(line)


__all__ = [
    "FAIL",
    "NA",
    "PASS",
    "XFAIL",
    "XPASS",
    "ScenarioFile",
    "ScenarioItem",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_report_header",
    "pytest_sessionfinish",
    "pytest_sessionstart",
]  # fmt: skip
