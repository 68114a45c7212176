"""AsyncSSH, paramiko or Twisted Conch as an SSH client for the harness's peer zoo:

    zoo_client.py asyncssh|paramiko|conch -p PORT -l USER [-i KEY | -password-env VAR]
                  [-known-hosts FILE] HOST COMMAND

runs COMMAND with this process's stdin (read to the end, then sent with EOF), stdout and
stderr, and exits with the remote exit status (255: connection or login failed). Without
-known-hosts any host key is accepted.
"""

from __future__ import annotations

import os
import sys
import tempfile

TIMEOUT = 30.0


def fail(message: str) -> None:
    print(f"zoo client: {message}", file=sys.stderr)
    sys.exit(255)


def parse(argv: list[str]) -> dict[str, str]:
    options = {"port": "22", "user": os.environ.get("USER", "")}
    names = {"-p": "port", "-l": "user", "-i": "key", "-password-env": "password_env", "-known-hosts": "known_hosts"}
    while len(argv) > 2 and argv[0].startswith("-"):
        if argv[0] not in names:
            fail(f"unknown option {argv[0]}")
        options[names[argv[0]]] = argv[1]
        argv = argv[2:]
    if len(argv) != 2:
        fail("usage: zoo_client.py asyncssh|paramiko|conch [options] HOST COMMAND")
    options["host"], options["command"] = argv
    if "password_env" in options:
        options["password"] = os.environ.get(options["password_env"], "")
    return options


def run_asyncssh(options: dict[str, str], stdin: bytes) -> int:
    import asyncio

    import asyncssh

    async def main() -> int:
        async with asyncssh.connect(
            options["host"], int(options["port"]), username=options["user"],
            client_keys=[options["key"]] if "key" in options else None, password=options.get("password"),
            known_hosts=options.get("known_hosts"), agent_path=None, connect_timeout=TIMEOUT,
            preferred_auth="publickey" if "key" in options else "password",
        ) as connection:
            result = await connection.run(options["command"], input=stdin, encoding=None)
            sys.stdout.buffer.write(result.stdout or b"")
            sys.stderr.buffer.write(result.stderr or b"")
            return result.exit_status if result.exit_status is not None else 255

    try:
        return asyncio.run(main())
    except (OSError, asyncssh.Error) as exc:
        fail(f"{type(exc).__name__}: {exc}")
        return 255


def run_paramiko(options: dict[str, str], stdin: bytes) -> int:
    import paramiko

    client = paramiko.SSHClient()
    if "known_hosts" in options:
        client.load_host_keys(options["known_hosts"])
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    else:
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(options["host"], int(options["port"]), username=options["user"],
                       key_filename=options.get("key"), password=options.get("password"), timeout=TIMEOUT,
                       allow_agent=False, look_for_keys=False)
        channel = client.get_transport().open_session(timeout=TIMEOUT)
        channel.exec_command(options["command"])
        channel.sendall(stdin)
        channel.shutdown_write()
        out = channel.makefile("rb").read()
        err = channel.makefile_stderr("rb").read()
        status = channel.recv_exit_status()
    except (OSError, paramiko.SSHException) as exc:
        fail(f"{type(exc).__name__}: {exc}")
        return 255
    finally:
        client.close()
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    return status


def _conch_known_hosts(options: dict[str, str]) -> str:
    """A copy of the known_hosts with "[host]:port" names for our port reduced to "host":
    Conch's endpoint checks host keys by host name alone. Without -known-hosts: an empty file."""
    handle, path = tempfile.mkstemp(prefix="conch-known-hosts-")
    with os.fdopen(handle, "w") as out:
        if "known_hosts" in options:
            bracketed = f"[{options['host']}]:{options['port']}"
            with open(options["known_hosts"]) as source:
                for line in source:
                    name, _, rest = line.partition(" ")
                    out.write(f"{options['host']} {rest}" if name == bracketed else line)
    return path


def run_conch(options: dict[str, str], stdin: bytes) -> int:
    from twisted.conch.client.knownhosts import KnownHostsFile
    from twisted.conch.endpoints import SSHCommandClientEndpoint
    from twisted.conch.ssh.keys import Key
    from twisted.internet import defer, error, protocol, reactor
    from twisted.python.filepath import FilePath

    strict = "known_hosts" in options

    class HostKeyUI:
        """Unknown host keys: accepted only without -known-hosts (a changed key always fails)."""

        def prompt(self, text: bytes) -> defer.Deferred:
            return defer.succeed(not strict)

        def warn(self, text: bytes) -> None:
            print(f"zoo client: {text!r}", file=sys.stderr)

    outcome = {"status": 255}

    class Command(protocol.Protocol):
        def connectionMade(self) -> None:
            # Conch's command channel drops extended data; the command's stderr is wanted here.
            self.transport.extReceived = lambda kind, data: sys.stderr.buffer.write(data)
            if stdin:
                self.transport.write(stdin)
            self.transport.conn.sendEOF(self.transport)

        def dataReceived(self, data: bytes) -> None:
            sys.stdout.buffer.write(data)

        def connectionLost(self, reason) -> None:  # type: ignore[no-untyped-def]
            if reason.check(error.ProcessTerminated):
                code = reason.value.exitCode
                outcome["status"] = 255 if code is None else code
            else:
                outcome["status"] = 0
            reactor.stop()

    def failed(failure) -> None:  # type: ignore[no-untyped-def]
        print(f"zoo client: {failure.getErrorMessage()}", file=sys.stderr)
        reactor.stop()

    endpoint = SSHCommandClientEndpoint.newConnection(
        reactor, options["command"].encode(), options["user"].encode(), options["host"].encode(),
        int(options["port"]), keys=[Key.fromFile(options["key"])] if "key" in options else None,
        password=options["password"].encode() if "password" in options else None, agentEndpoint=None,
        knownHosts=KnownHostsFile.fromPath(FilePath(_conch_known_hosts(options))), ui=HostKeyUI())
    endpoint.connect(protocol.Factory.forProtocol(Command)).addErrback(failed)
    reactor.callLater(4 * TIMEOUT, failed, type("Timeout", (), {"getErrorMessage": lambda self: "timed out"})())
    reactor.run()
    return outcome["status"]


RUNNERS = {"asyncssh": run_asyncssh, "paramiko": run_paramiko, "conch": run_conch}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in RUNNERS:
        fail(f"first argument: one of {', '.join(RUNNERS)}")
    options = parse(sys.argv[2:])
    stdin = sys.stdin.buffer.read()
    runner = RUNNERS[sys.argv[1]]
    status = runner(options, stdin)
    sys.stdout.flush()
    sys.exit(status)


if __name__ == "__main__":
    main()
