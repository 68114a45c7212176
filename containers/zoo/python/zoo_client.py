"""AsyncSSH or paramiko as an SSH client for the harness's peer zoo:

    zoo_client.py asyncssh|paramiko -p PORT -l USER [-i KEY | -password-env VAR]
                  [-known-hosts FILE] HOST COMMAND

runs COMMAND with this process's stdin (read to the end, then sent with EOF), stdout and
stderr, and exits with the remote exit status (255: connection or login failed). Without
-known-hosts any host key is accepted.
"""

from __future__ import annotations

import os
import sys

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
        fail("usage: zoo_client.py asyncssh|paramiko [options] HOST COMMAND")
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


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("asyncssh", "paramiko"):
        fail("first argument: asyncssh or paramiko")
    options = parse(sys.argv[2:])
    stdin = sys.stdin.buffer.read()
    runner = run_asyncssh if sys.argv[1] == "asyncssh" else run_paramiko
    status = runner(options, stdin)
    sys.stdout.flush()
    sys.exit(status)


if __name__ == "__main__":
    main()
