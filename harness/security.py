"""``Transport.get_security_options()``: the algorithm preferences, validated on assignment."""

from __future__ import annotations

from collections.abc import Iterable

from harness.ssh.config import ConnectionConfig


def _registry(kind: str) -> frozenset[str]:
    if kind == "kex":
        from harness.ssh.kex.methods import KEX_METHODS

        return frozenset(KEX_METHODS)
    if kind == "ciphers":
        from harness.ssh.crypto.protection import CIPHERS

        return frozenset(CIPHERS)
    if kind == "digests":
        from harness.ssh.crypto.protection import MACS

        return frozenset(MACS)
    if kind == "key_types":
        from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

        return frozenset(SUPPORTED_HOST_KEY_ALGORITHMS)
    from harness.ssh.crypto.compression import COMPRESSIONS

    return frozenset(COMPRESSIONS)


_FIELDS = {
    "kex": "kex",
    "ciphers": "ciphers",
    "digests": "macs",
    "key_types": "host_key_algorithms",
    "compression": "compression",
}


class SecurityOptions:
    """Paramiko-compatible view of the preference lists (tuples, most preferred first)."""

    def __init__(self, config: ConnectionConfig) -> None:
        object.__setattr__(self, "_config", config)

    def __getattr__(self, name: str) -> tuple[str, ...]:
        if name in _FIELDS:
            return tuple(getattr(self._config, _FIELDS[name]))
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Iterable[str]) -> None:
        if name not in _FIELDS:
            raise AttributeError(f"no security option {name!r}; choose from {sorted(_FIELDS)}")
        if isinstance(value, str):
            raise TypeError(f"{name} must be a sequence of algorithm names, not a string")
        names = tuple(value)
        if not names:
            raise ValueError(f"{name} must not be empty")
        known = _registry(name)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown {name} algorithm(s) {unknown}; supported: {sorted(known)}")
        setattr(self._config, _FIELDS[name], names)
        self._config.explicit.add(_FIELDS[name])

    def __repr__(self) -> str:
        return "SecurityOptions(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in _FIELDS) + ")"
