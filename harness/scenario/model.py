"""What a scenario is: role, requirements, parameters and its steps.

A scenario file (``scenarios/<area>/<name>.py``) has a docstring and one module-level
``SCENARIO = Scenario(...)``. Its id is ``<area>/<name>`` (with ``[param]`` for parametrised
ones). Requirements are small objects that look at the peer's :class:`PeerInfo` and say why the
scenario cannot run against it ("not applicable"), or None.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.ssh.crypto.protection import AEAD_CIPHERS

CLIENT = "client"  # we play the client against server peers
SERVER = "server"  # we play the server against client peers


class Requirement:
    def check(self, info: Any, params: dict[str, Any]) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


def _fmt(value: str, params: dict[str, Any]) -> str:
    return value.format(**params) if "{" in value else value


_CATEGORY_KEYS = {
    "kex": ("kex",),
    "host_key": ("host_key",),
    "cipher": ("cipher_c2s", "cipher_s2c"),
    "mac": ("mac_c2s", "mac_s2c"),
    "compression": ("compression_c2s", "compression_s2c"),
}


@dataclass
class Offers(Requirement):
    """The peer's KEXINIT offers ``name`` in ``category`` (kex, host_key, cipher, mac, compression)."""

    category: str
    name: str

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        name = _fmt(self.name, params)
        for key in _CATEGORY_KEYS[self.category]:
            if name not in info.algorithms.get(key, ()):
                return f"{info.peer_id} does not offer {self.category} {name}"
        return None


@dataclass
class OffersNonAead(Requirement):
    """The peer offers a cipher that uses a separate MAC (so MAC negotiation matters)."""

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        if all(c in AEAD_CIPHERS for c in info.algorithms.get("cipher_c2s", ())):
            return f"{info.peer_id} offers only AEAD ciphers: no MAC is ever negotiated"
        return None


@dataclass
class AuthMethod(Requirement):
    method: str

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        methods = info.extra.get("auth_methods", "publickey,password").split(",")
        if self.method not in methods:
            return f"{info.peer_id} has no {self.method} authentication"
        return None


@dataclass
class Product(Requirement):
    """Only these products (e.g. an OpenSSH extension such as hostkeys-00@openssh.com)."""

    products: tuple[str, ...]
    why: str = ""

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        if info.product not in self.products:
            why = f" ({self.why})" if self.why else ""
            return f"only for {'/'.join(self.products)}{why}; {info.peer_id} is {info.product}"
        return None


@dataclass
class NotProduct(Requirement):
    products: tuple[str, ...]
    why: str

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        if info.product in self.products:
            return f"{info.peer_id}: {self.why}"
        return None


@dataclass
class KexMarker(Requirement):
    """The peer's kex list carries an extension marker (ext-info-s, kex-strict-s-v00@openssh.com)."""

    marker: str
    # Only for variants whose parameter ``param`` is true (e.g. the strict variant of a scenario
    # with strict and non-strict variants); None: always.
    param: str | None = None

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        if self.param is not None and not params.get(self.param):
            return None
        if self.marker not in info.algorithms.get("kex", ()):
            return f"{info.peer_id} does not announce {self.marker}"
        return None


@dataclass
class Supported(Requirement):
    """We (the harness core) implement ``name`` in ``category`` (for parametrised scenarios)."""

    category: str
    name: str

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        name = _fmt(self.name, params)
        from harness.scenario.steps import our_algorithms

        if name not in our_algorithms(self.category):
            return f"the harness does not implement {self.category} {name}"
        return None


@dataclass
class PeerOptions(Requirement):
    """Start a dedicated peer with launcher options, per product, e.g.
    ``PeerOptions(openssh={"extra_config": {"RekeyLimit": "64K"}})``; other products: n/a."""

    openssh: dict[str, Any] | None = None
    dropbear: dict[str, Any] | None = None
    tinyssh: dict[str, Any] | None = None
    why: str = "needs a peer started with special options"

    def for_product(self, product: str) -> dict[str, Any] | None:
        return getattr(self, product, None)

    def check(self, info: Any, params: dict[str, Any]) -> str | None:
        if self.for_product(info.product) is None:
            return f"{self.why}; no such option for {info.product}"
        return None


@dataclass
class Scenario:
    """One scenario. ``steps`` is a list of steps, or a function of the params giving one."""

    steps: Sequence[Any] | Callable[[dict[str, Any]], Sequence[Any]]
    role: str = CLIENT
    requires: Sequence[Requirement] = ()
    params: dict[str, Sequence[Any]] = field(default_factory=dict)
    timeout: float = 5.0  # default deadline of every wait in this scenario
    peers: Sequence[str] = ()  # restrict to these peer ids/products (empty: every peer of the role)
    # Sanity scenarios run first and last against each peer, so a peer that died is noticed.
    first_and_last: bool = False
    # The RFC does not say what a peer must do here: the cell has no verdict, only its pinned
    # outcome (typically the scenario ends with an Observe step).
    informational: bool | Callable[[dict[str, Any]], bool] = False
    # Offer strict kex (kex-strict-c/s-v00@openssh.com) on this scenario's connections. Off by
    # default so that peers' non-strict behaviour is observed; scenarios about strict kex say so.
    strict_kex: bool = False
    # Server role: what the client peer does once logged in (exec, shell with a pty, sftp,
    # forward: a direct-tcpip channel) and how it logs in (publickey, password). A client that
    # lacks the mode is "not applicable".
    client_mode: str = "exec"
    client_auth: str = "publickey"
    # Set by the loader:
    id: str = ""
    area: str = ""
    doc: str = ""
    path: str = ""

    def variants(self) -> list[tuple[str, dict[str, Any]]]:
        """(variant id, params) pairs: one per value of the (single) parameter."""
        if not self.params:
            return [(self.id, {})]
        (key, values), *rest = self.params.items()
        if rest:
            raise ValueError(f"{self.id}: only one parameter per scenario is supported")
        return [(f"{self.id}[{v}]", {key: v}) for v in values]

    def build(self, params: dict[str, Any]) -> list[Any]:
        steps = self.steps(params) if callable(self.steps) else self.steps
        return list(steps)

    def is_informational(self, params: dict[str, Any]) -> bool:
        """No verdict for this variant, only its pinned outcome (a bool, or a function of params)."""
        return bool(self.informational(params) if callable(self.informational) else self.informational)

    def peer_options(self, product: str) -> dict[str, Any]:
        for req in self.requires:
            if isinstance(req, PeerOptions):
                return req.for_product(product) or {}
        return {}

    def not_applicable(self, info: Any, params: dict[str, Any]) -> str | None:
        if self.peers and info.peer_id not in self.peers and info.product not in self.peers:
            return f"scenario runs only against {', '.join(self.peers)}"
        for req in self.requires:
            reason = req.check(info, params)
            if reason:
                return reason
        return None


def load_scenario_file(path: Path, root: Path) -> Scenario:
    """Import a scenario file and return its SCENARIO, with id/area/doc filled in."""
    rel = path.relative_to(root).with_suffix("")
    sid = rel.as_posix()
    modname = "harness_scenarios." + ".".join(rel.parts)
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot import")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    scenario = getattr(module, "SCENARIO", None)
    if not isinstance(scenario, Scenario):
        raise TypeError(f"{path}: a scenario file must define SCENARIO = Scenario(...)")
    if not (module.__doc__ or "").strip():
        raise TypeError(f"{path}: a scenario file needs a docstring saying what it checks and why")
    scenario.id = sid
    scenario.area = rel.parts[0] if len(rel.parts) > 1 else ""
    scenario.doc = (module.__doc__ or "").strip()
    scenario.path = str(path)
    return scenario


def discover(root: Path) -> list[Scenario]:
    """Every scenario under ``root`` (``<area>/<name>.py``; files starting with _ are helpers)."""
    found = []
    for path in sorted(root.glob("*/*.py")):
        if path.name.startswith("_") or path.parent.name == "expectations":
            continue
        found.append(load_scenario_file(path, root))
    return found
