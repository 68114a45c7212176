"""paramiko as an SSH server peer: password and public key logins, exec/shell via /bin/sh.

One thread per connection (paramiko's own Transport thread does the protocol); each command
gets three pump threads and the exit status goes out after stdout and stderr are drained.
paramiko's server has no SFTP subsystem without an SFTPServerInterface of our own: none here.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import threading

import paramiko
from zoo_settings import HOST_KEYS, LISTEN, PASSWORD, PORT, SHELL, USER, authorized_key_lines, log

CHUNK = 65536
# Key classes by file name (the launcher names host keys ssh_host_<type>_key).
KEY_CLASSES = {"ed25519": paramiko.Ed25519Key, "ecdsa": paramiko.ECDSAKey, "rsa": paramiko.RSAKey}


def load_host_key(path: str) -> paramiko.PKey:
    kind = path.rsplit("/", 1)[-1].removeprefix("ssh_host_").removesuffix("_key")
    return KEY_CLASSES[kind](filename=path)


def authorized_blobs() -> set[bytes]:
    return {base64.b64decode(line.split()[1]) for line in authorized_key_lines()}


class Interface(paramiko.ServerInterface):
    def __init__(self) -> None:
        self.blobs = authorized_blobs()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == USER and password == PASSWORD
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == USER and key.asbytes() in self.blobs
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        start_command(channel, [SHELL, "-c", command.decode("utf-8", "surrogateescape")])
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        start_command(channel, [SHELL])
        return True


def start_command(channel: paramiko.Channel, argv: list[str]) -> None:
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    threading.Thread(target=run_command, args=(channel, proc), daemon=True).start()


def feed_stdin(channel: paramiko.Channel, proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdin is not None
    try:
        while True:
            data = channel.recv(CHUNK)
            if not data:
                break
            proc.stdin.write(data)
            proc.stdin.flush()
        proc.stdin.close()
    except (OSError, EOFError):
        pass  # the command exited first, or the channel closed


def copy_out(read, send) -> None:  # type: ignore[no-untyped-def]
    while True:
        data = read(CHUNK)
        if not data:
            return
        send(data)


def run_command(channel: paramiko.Channel, proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None and proc.stderr is not None
    threading.Thread(target=feed_stdin, args=(channel, proc), daemon=True).start()
    err = threading.Thread(target=copy_out, args=(proc.stderr.read1, channel.sendall_stderr), daemon=True)
    err.start()
    copy_out(proc.stdout.read1, channel.sendall)
    err.join()
    status = proc.wait()
    channel.send_exit_status(status)
    channel.shutdown_write()
    channel.close()


def serve_connection(sock: socket.socket, host_keys: list[paramiko.PKey]) -> None:
    transport = paramiko.Transport(sock)
    for key in host_keys:
        transport.add_server_key(key)
    try:
        transport.start_server(server=Interface())
    except (paramiko.SSHException, EOFError, OSError) as exc:
        log(f"connection failed: {exc!r}")
        return
    # paramiko closes a Channel when its object is collected (Channel.__del__, and the transport
    # holds channels weakly): accepted channels are kept for the connection's lifetime.
    channels = []
    while transport.is_active():
        channel = transport.accept(timeout=1.0)
        if channel is not None:
            channels.append(channel)


def main() -> None:
    host_keys = [load_host_key(path) for path in HOST_KEYS]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LISTEN, PORT))
    listener.listen(32)
    log(f"paramiko {paramiko.__version__} listening on {LISTEN}:{PORT}")
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_connection, args=(sock, host_keys), daemon=True).start()


if __name__ == "__main__":
    main()
