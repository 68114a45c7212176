"""Where scenario files come from: the repository's ``scenarios/`` or any folder a user names.

Why a module of its own: ``harness run PATH`` and ``pytest PATH`` must agree on which files are
scenarios and what their ids are, and a path without any scenario must be an error that says so
(pytest alone would end with "no tests ran" and exit code 5, which reads like success in CI).

Rules (docs/SCENARIOS.md):
- A *scenario root* is the repository's ``scenarios/`` folder, or a folder given on the command
  line. Ids are relative to the root: ``<area>/<name>`` for ``root/<area>/<name>.py``, ``<name>``
  for a flat ``root/<name>.py``.
- Inside the repository's root every ``<area>/<name>.py`` is a scenario (as before). Elsewhere a
  file is one when it assigns ``SCENARIO =`` at the start of a line, so that pointing the plugin at
  a project's ordinary test folder does not import every module in it.
- Files starting with ``_``, ``conftest.py``, pytest's own ``test_*.py`` / ``*_test.py`` and the
  ``expectations`` folder are never scenarios.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.resources import data_path

# The built-in scenarios: the checkout's scenarios/, or the installed wheel's copy under harness/_data/
# (a path beside the package would not exist there, and a user's folder run would then fail on the
# bundled manifests' keys, which name built-in scenarios no longer known).
REPO_SCENARIOS = data_path("scenarios").resolve()
# Default expectations (manifests and pins) of the built-in scenarios.
REPO_EXPECTATIONS = REPO_SCENARIOS / "expectations"
# `SCENARIO = Scenario(...)` (or an annotated assignment) at the start of a line.
_DEFINES_SCENARIO = re.compile(rb"^SCENARIO\s*(:[^=\n]*)?=", re.MULTILINE)
# Deepest layout: <area>/<name>.py below the root.
MAX_DEPTH = 2


class NoScenariosError(ValueError):
    """A path given to run scenarios from holds none; the message says where and what is wanted."""


def _excluded(path: Path) -> bool:
    name = path.name
    return (path.suffix != ".py" or name.startswith("_") or name == "conftest.py" or name.startswith("test_")
            or name.endswith("_test.py"))  # fmt: skip


def defines_scenario(path: Path) -> bool:
    """True when the file assigns SCENARIO at module level (read as bytes; no import)."""
    try:
        return bool(_DEFINES_SCENARIO.search(path.read_bytes()))
    except OSError:
        return False


def relative_id_parts(path: Path, root: Path) -> tuple[str, ...] | None:
    """The file's path parts below ``root`` when it sits in a scenario position, else None."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    if not 1 <= len(rel.parts) <= MAX_DEPTH or rel.parts[0] == "expectations" or _excluded(path):
        return None
    return rel.parts


def is_scenario_file(path: Path, root: Path) -> bool:
    parts = relative_id_parts(path, root)
    if parts is None:
        return False
    if root.resolve() == REPO_SCENARIOS:
        return len(parts) == MAX_DEPTH  # the repository keeps helpers (conftest, ruff.toml) at the top
    return defines_scenario(path)


def root_of(path: Path) -> Path:
    """The scenario root a directory (or file) argument stands for.

    Anything inside the repository's ``scenarios/`` stands for that root (``scenarios/kex`` keeps
    ids like ``kex/guess_right``); elsewhere a folder is its own root and a file stands for its
    folder (ids are relative to what the user named).
    """
    resolved = path.resolve()
    if resolved == REPO_SCENARIOS or REPO_SCENARIOS in resolved.parents:
        return REPO_SCENARIOS
    return resolved if resolved.is_dir() else resolved.parent


def roots_for(args: Iterable[str]) -> list[Path]:
    """Scenario roots named by command-line path arguments (node ids like ``f.py::x`` included)."""
    roots: list[Path] = []
    for arg in args:
        if arg.startswith("-"):
            continue
        path = Path(arg.split("::", 1)[0])
        if not path.exists():
            continue
        root = root_of(path)
        if root not in roots:
            roots.append(root)
    return roots


def find_root(path: Path, roots: Sequence[Path]) -> Path | None:
    """The root (of ``roots``, or the repository's) under which ``path`` is a scenario file."""
    for root in (*sorted(roots, key=lambda r: len(r.parts), reverse=True), REPO_SCENARIOS):
        if is_scenario_file(path, root):
            return root
    return None


def scenario_files(path: Path) -> list[Path]:
    """Every scenario file a command-line path stands for (a file, a root, or an area folder)."""
    path = path.resolve()
    root = root_of(path)
    if path.is_file():
        return [path] if is_scenario_file(path, root) else []
    # A root holds <area>/<name>.py and flat <name>.py; an area folder inside a root only <name>.py.
    candidates = [*path.glob("*.py"), *path.glob("*/*.py")] if path == root else list(path.glob("*.py"))
    return sorted(p for p in candidates if is_scenario_file(p, root))


def check_paths(paths: Sequence[str]) -> list[Path]:
    """Resolved paths, each holding at least one scenario; otherwise NoScenariosError saying which."""
    out = []
    for text in paths:
        path = Path(text.split("::", 1)[0])
        if not path.exists():
            raise NoScenariosError(f"{text}: no such file or directory")
        if not scenario_files(path):
            raise NoScenariosError(
                f"{text}: no scenario files there (a scenario file defines SCENARIO = Scenario(...) at module "
                "level; layout <area>/<name>.py or a flat folder of <name>.py; see docs/SCENARIOS.md)")
        out.append(path.resolve())
    return out


def scenario_files_of(roots: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(file, root) for every scenario file of the given roots (for checking expectation keys)."""
    found = []
    for root in dict.fromkeys(r.resolve() for r in roots):
        for path in scenario_files(root):
            found.append((path, root))
    return found


# == the pytest side: options, the user's peers, roots of this session =========================

USER_PEER_OPTIONS = (
    ("--target", "URL", "a server someone else runs: ssh://user[:password]@host:port (docs/TARGETS.md)"),
    ("--target-identity", "FILE", "private key for --target (unencrypted OpenSSH or PEM; repeatable)"),
    ("--target-known-hosts", "FILE", "known_hosts for --target (default: trust the key seen at the probe)"),
    ("--target-name", "NAME", "peer id of --target in reports and expectations (default: target)"),
    ("--client-command", "TEMPLATE", "a client under test: 'mycli -p {port} {user}@{host} {command}'"),
    ("--client-name", "NAME", "peer id of --client-command (default: client-command)"),
    ("--peers-file", "FILE", "the user's peers (default: ./peers.toml if present)"),
    ("--expectations", "DIR", "expectation manifests and pins (default: the repository's scenarios/expectations)"),
)


def add_user_peer_options(group: Any) -> None:
    for flag, metavar, text in USER_PEER_OPTIONS:
        repeatable = {"action": "append"} if flag == "--target-identity" else {}
        try:
            group.addoption(flag, default=None, metavar=metavar, help=text, **repeatable)
        except ValueError:  # registered by an earlier copy of the plugin hooks
            pass


def _option(config: Any, flag: str) -> Any:
    return config.getoption(flag.lstrip("-").replace("-", "_"), None)


def builtin_server_ids() -> list[str]:
    from harness.peers.registry import docker_peer_ids, sanitizer_peer_ids
    from harness.peers.zoo import zoo_server_ids

    return [*docker_peer_ids(), *sanitizer_peer_ids(), *zoo_server_ids()]


def builtin_client_ids() -> list[str]:
    from harness.peers.client_peers import known_client_peer_ids

    return known_client_peer_ids()


def builtin_peer_ids() -> list[str]:
    """Every built-in id, server or client (a user's peer may not take one of these names)."""
    return [*builtin_server_ids(), *builtin_client_ids()]


def configure_user_peers(config: Any, expectations_dir: Path) -> Path:
    """Check the user's peers and paths once (pytest_configure); returns the expectations folder.

    Any problem becomes a pytest.UsageError: one line naming the option or file at fault."""
    import pytest

    from harness.peers.base import PeerError
    from harness.peers.user_peers import default_peers_file, load_user_peers

    peers_file = _option(config, "--peers-file")
    if peers_file is None:
        found = default_peers_file(Path(str(config.invocation_params.dir)))
        peers_file = str(found) if found else None
    try:
        config._harness_user_peers = load_user_peers(
            target=_option(config, "--target"), identity=_option(config, "--target-identity") or [],
            known_hosts=_option(config, "--target-known-hosts"), name=_option(config, "--target-name"),
            client_command=_option(config, "--client-command"), client_name=_option(config, "--client-name"),
            peers_file=peers_file, builtin=builtin_peer_ids())  # fmt: skip
    except PeerError as exc:
        raise pytest.UsageError(str(exc)) from None
    directory = _option(config, "--expectations")
    if directory is None:
        return expectations_dir
    path = Path(directory).resolve()
    if not path.is_dir():
        raise pytest.UsageError(f"--expectations {directory}: no such directory")
    return path


def user_peers(config: Any) -> Any:
    from harness.peers.user_peers import UserPeers

    peers = getattr(config, "_harness_user_peers", None)
    if peers is None:
        peers = config._harness_user_peers = UserPeers()
    return peers


def stop_user_peers(config: Any) -> None:
    peers = getattr(config, "_harness_user_peers", None)
    if peers is not None:
        peers.stop_all()


def chosen_peers(config: Any, role: str, defaults: Callable[[], list[str]]) -> list[str]:
    """Peer ids of ``role`` for this session.

    Explicit ids (--peer / --client-peer) and --target / --client-command come first; without
    them a peers file's peers of that role stand in for ``defaults()`` (the built-in peers), and
    so does nothing at all when the user described only peers of the other role: testing one
    client should not start every built-in server too.
    """
    peers = user_peers(config)
    option = "peer" if role == "server" else "client_peer"
    named = peers.servers if role == "server" else peers.clients
    from harness.peers.groups import expand

    explicit = expand(list(config.getoption(option, None) or []), role)
    explicit += [n for n, spec in named.items() if spec.origin.startswith("--") and n not in explicit]
    if explicit:
        return explicit
    if named:
        return list(named)
    if peers.servers or peers.clients:
        return []
    return defaults()


def scenario_roots(config: Any) -> list[Path]:
    """Roots named by this session's path arguments (cached on the config)."""
    roots = getattr(config, "_harness_scenario_roots", None)
    if roots is None:
        base = Path(str(config.invocation_params.dir))
        roots = config._harness_scenario_roots = roots_for(str(base / a) for a in config.args)
    return roots


def every_scenario(session: Any) -> list[Any]:
    """Every scenario of the roots this session collected from and of the repository, to check
    expectation keys against all ids, not the selection (one manifest of a user's peer may list
    built-in scenarios and the project's own)."""
    from harness.scenario.model import load_scenario_file

    roots = {getattr(item.parent, "scenario_root", None) for item in session.items} - {None}
    if REPO_SCENARIOS.is_dir():
        roots.add(REPO_SCENARIOS)
    return [load_scenario_file(path, root) for path, root in scenario_files_of(roots)]


_SCENARIO_MODE_OPTIONS = ("peer", "client_peer", "scenario_report", "scenario_seed", "target", "client_command",
                          "peers_file", "expectations")  # fmt: skip


def check_something_collected(session: Any) -> None:
    """A scenario run that collected nothing because a path holds no scenarios is a usage error.

    Only when the run is clearly a scenario run (a harness option was given): the plugin is
    installed in other projects too, where an empty folder is pytest's business."""
    import pytest

    config = session.config
    if session.items or not any(config.getoption(name, None) for name in _SCENARIO_MODE_OPTIONS):
        return
    base = Path(str(config.invocation_params.dir))
    for arg in config.args:
        path = base / arg.split("::", 1)[0]
        if path.exists() and not scenario_files(path):
            try:
                check_paths([str(path)])
            except NoScenariosError as exc:
                raise pytest.UsageError(str(exc).replace(str(path), arg, 1)) from None


def rerun_options(config: Any) -> str:
    """The user-peer options of this session, for a failure's "re-run alone" line (the target's
    password masked: the line lands in reports and CI artifacts)."""
    import shlex

    from harness.peers.target import TargetError, parse_target_url

    parts = []
    for flag, _, _ in USER_PEER_OPTIONS:
        value = _option(config, flag)
        if value and flag == "--target":
            try:
                value = str(parse_target_url(value))
            except TargetError:
                pass
        for one in value if isinstance(value, list) else [value] if value else []:
            parts.append(f"{flag} {shlex.quote(str(one))}")
    return (" " + " ".join(parts)) if parts else ""
