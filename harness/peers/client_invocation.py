"""How to run one client peer against our server: its files and its command line.

Why per run: each server-role scenario gets a fresh client key pair (Ed25519; RSA in PEM form
on request) that only its own server policy accepts, a known_hosts for the port it listens on,
and the key in the client's own format (Dropbear's for dbclient, a ``.ppk`` for plink). All of
it lives in one directory, which container clients see read-only at /harness.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.peers.base import PeerError, run_tool
from harness.peers.client_peers import AUTHS, ClientPeerSpec
from harness.peers.clients import MOUNT, OUT_MOUNT, docker_cli, docker_run_argv

KEY_TYPES = {"ed25519": ("-t", "ed25519"), "rsa": ("-t", "rsa", "-b", "2048", "-m", "PEM")}
# The remote command of mode "exec" when the scenario names none.
DEFAULT_COMMAND = "echo harness-client-ok"
# Where mode "forward" asks the server to connect (direct-tcpip); loopback only, and the
# scenario server decides what happens (nothing is listening there).
FORWARD_TO = "127.0.0.1:9"
# Bound handed to the library clients' own connect/auth waits.
SCRIPT_TIMEOUT = 20.0


@dataclass
class ClientFiles:
    """One run's directory: key pair (and converted forms), known_hosts, askpass, sftp batch."""

    root: Path
    username: str
    password: str
    key_type: str = "ed25519"
    key: Path = field(init=False)

    def __post_init__(self) -> None:
        if self.key_type not in KEY_TYPES:
            raise ValueError(f"key_type must be one of {sorted(KEY_TYPES)}: {self.key_type!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # the container's root reads it through the bind mount
        self.key = self.root / f"id_{self.key_type}"
        run_tool(["ssh-keygen", "-q", *KEY_TYPES[self.key_type], "-N", "", "-C", "harness-client", "-f",
                  str(self.key)])  # fmt: skip
        (self.root / "home" / ".ssh").mkdir(parents=True, exist_ok=True)
        askpass = self.root / "askpass"
        askpass.write_text(f"#!/bin/sh\necho '{self.password}'\n")
        askpass.chmod(0o755)
        (self.root / "sftp_batch").write_text("pwd\nls\n")

    @property
    def public_line(self) -> str:
        return " ".join(Path(f"{self.key}.pub").read_text().split()[:2])

    def public_key(self) -> Any:
        from harness.ssh.keys import parse_public_key_line

        return parse_public_key_line(self.public_line)

    def converted(self, kind: str) -> Path:
        """The key in dbclient's (``.db``) or plink's (``.ppk``) format, made on first use."""
        if kind == "dbclient":
            path = self.key.with_suffix(".db")
            if not path.exists():
                run_tool(["dropbearconvert", "openssh", "dropbear", str(self.key), str(path)])
        else:
            path = self.key.with_suffix(".ppk")
            if not path.exists():
                run_tool(["puttygen", str(self.key), "-O", "private", "-o", str(path)])
        os.chmod(path, 0o600)
        return path

    def write_host_files(self, port: int, host_key_line: str) -> None:
        """known_hosts for 127.0.0.1:port: OpenSSH/paramiko/AsyncSSH form and dbclient's (no port)."""
        (self.root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key_line}\n")
        (self.root / "home" / ".ssh" / "known_hosts").write_text(f"127.0.0.1 {host_key_line}\n")


@dataclass
class Invocation:
    """Everything ClientProcess needs to start one run."""

    argv: list[str]
    env: dict[str, str]
    tty: bool
    status_file: Path | None = None
    kill_argv: list[str] | None = None
    display: str = ""  # the client's own command line, for transcripts (without docker's plumbing)

    def __post_init__(self) -> None:
        self.display = self.display or " ".join(self.argv)


def build_invocation(spec: ClientPeerSpec, files: ClientFiles, port: int, *, mode: str = "exec",
                     auth: str = "publickey", command: str = DEFAULT_COMMAND, tty: bool | None = None,
                     host_fingerprint: str = "", name: str = "") -> Invocation:  # fmt: skip
    """The command line of ``spec`` for one run: ``mode`` (exec, shell, sftp, forward), ``auth``
    (publickey or password), ``tty`` (None: a terminal for shell mode only)."""
    if mode not in spec.modes:
        raise PeerError(f"client peer {spec.peer_id} has no mode {mode!r} (it has {', '.join(spec.modes)})")
    if auth not in AUTHS:
        raise ValueError(f"auth must be one of {AUTHS}: {auth!r}")
    use_tty = mode == "shell" if tty is None else tty
    if spec.kind == "python":
        return _python(spec, files, port, mode, auth, command, use_tty)
    if spec.kind == "zoo":
        return _zoo(spec, files, port, auth, command, use_tty, name)
    if spec.kind == "plink" and not spec.container:
        args, env, binary = _plink(files, port, mode, auth, command, host_fingerprint, str(files.root),
                                    str(files.root / "home"))
        return Invocation([f"/usr/bin/{binary}", *args], env, use_tty)
    if spec.kind == "plink":
        args, env, binary = _plink(files, port, mode, auth, command, host_fingerprint, MOUNT, OUT_MOUNT)
    else:
        args, env, binary = (_ssh if spec.kind == "ssh" else _dbclient)(files, port, mode, auth, command)
    out_dir = files.root / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "status").unlink(missing_ok=True)
    argv = docker_run_argv(spec.peer_id, args, files.root, env=env, binary=binary, tty=use_tty, name=name,
                           out_dir=out_dir)  # fmt: skip
    return Invocation(argv, {}, use_tty, out_dir / "status", [docker_cli(), "kill", name] if name else None,
                      f"[{spec.peer_id} container] {binary} {' '.join(args)}")


def _zoo(spec: ClientPeerSpec, files: ClientFiles, port: int, auth: str, command: str, tty: bool,
         name: str) -> Invocation:  # fmt: skip
    """A zoo client's run: its one command line (:meth:`harness.peers.zoo.ZooClient.argv`) in its
    image, under the same wait-status wrapper as the other container clients. HOME is /tmp
    in the container: the run directory is read-only and some runtimes write under $HOME."""
    from harness.peers.zoo import ZOO_CLIENTS

    client = ZOO_CLIENTS[spec.peer_id]
    key = f"{MOUNT}/{files.key.name}" if auth == "publickey" else None
    known_hosts = f"{MOUNT}/known_hosts" if client.checks_known_hosts else None
    argv = client.argv(host="127.0.0.1", port=port, user=files.username, command=command, key=key,
                       known_hosts=known_hosts, options=client.scenario_options)  # fmt: skip
    env = {"HOME": "/tmp"} if key is not None else {"HOME": "/tmp", "HARNESS_PASSWORD": files.password}
    out_dir = files.root / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "status").unlink(missing_ok=True)
    docker_argv = docker_run_argv(spec.peer_id, argv[1:], files.root, env=env, binary=argv[0], tty=tty, name=name,
                                  out_dir=out_dir)  # fmt: skip
    return Invocation(docker_argv, {}, tty, out_dir / "status", [docker_cli(), "kill", name] if name else None,
                      f"[{spec.peer_id} container] {' '.join(argv)}")


def _ssh(files: ClientFiles, port: int, mode: str, auth: str, command: str
         ) -> tuple[list[str], dict[str, str], str]:  # fmt: skip
    opts = ["-F", "/dev/null", "-o", f"UserKnownHostsFile={MOUNT}/known_hosts", "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=10", "-o", "NumberOfPasswordPrompts=1"]  # fmt: skip
    env: dict[str, str] = {}
    if auth == "publickey":
        opts += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey",
                 "-i", f"{MOUNT}/{files.key.name}"]  # fmt: skip
    else:
        opts += ["-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no"]
        env = {"SSH_ASKPASS": f"{MOUNT}/askpass", "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": "none"}
    target = f"{files.username}@127.0.0.1"
    if mode == "sftp":
        return [*opts, "-P", str(port), "-b", f"{MOUNT}/sftp_batch", target], env, "sftp"
    opts += ["-p", str(port)]
    if mode == "shell":
        return [*opts, "-tt", target], env, "ssh"
    if mode == "forward":
        return [*opts, "-W", FORWARD_TO, target], env, "ssh"
    return [*opts, target, command], env, "ssh"


def _dbclient(files: ClientFiles, port: int, mode: str, auth: str, command: str
              ) -> tuple[list[str], dict[str, str], str]:  # fmt: skip
    opts = ["-p", str(port)]
    env: dict[str, str] = {}
    if auth == "publickey":
        opts += ["-i", f"{MOUNT}/{files.converted('dbclient').name}"]
    else:
        env = {"DROPBEAR_PASSWORD": files.password}
    target = f"{files.username}@127.0.0.1"
    if mode == "shell":
        return [*opts, "-t", target], env, "dbclient"
    if mode == "forward":
        return [*opts, "-B", FORWARD_TO, target], env, "dbclient"
    return [*opts, "-T", target, command], env, "dbclient"


def _plink(files: ClientFiles, port: int, mode: str, auth: str, command: str, fingerprint: str, where: str,
           home: str) -> tuple[list[str], dict[str, str], str]:  # fmt: skip
    """plink's (or psftp's) arguments; ``where``: the run directory as the client sees it,
    ``home``: a writable $HOME there."""
    opts = ["-batch", "-P", str(port), "-l", files.username, "-hostkey", fingerprint]
    opts += ["-i", f"{where}/{files.converted('plink').name}"] if auth == "publickey" else ["-pw", files.password]
    # plink keeps its random seed and host key cache under $HOME: the run's own directory.
    env = {"HOME": home}
    if mode == "sftp":
        return [*opts, "-b", f"{where}/sftp_batch", "127.0.0.1"], env, "psftp"
    opts = ["-ssh", *opts]
    if mode == "shell":
        return [*opts, "-t", "127.0.0.1"], env, "plink"
    if mode == "forward":
        return [*opts, "-nc", FORWARD_TO, "127.0.0.1"], env, "plink"
    return [*opts, "-T", "127.0.0.1", command], env, "plink"


def _python(spec: ClientPeerSpec, files: ClientFiles, port: int, mode: str, auth: str, command: str,
            tty: bool) -> Invocation:  # fmt: skip
    argv = [spec.interpreter, str(spec.script), "--port", str(port), "--user", files.username, "--known-hosts",
            str(files.root / "known_hosts"), "--mode", mode, "--command", command, "--forward-to", FORWARD_TO,
            "--timeout", str(SCRIPT_TIMEOUT)]  # fmt: skip
    argv += ["--key", str(files.key)] if auth == "publickey" else ["--password", files.password]
    # Debian's asyncssh warns about ciphers cryptography deprecated: noise, not the peer's output.
    return Invocation(argv, {"PYTHONWARNINGS": "ignore"}, tty)

