#!/bin/sh
# Entrypoint of harness-peer/openssh: prepare the test user's home, then exec sshd in the
# foreground (PID 1, logging to stderr = `docker logs`).
#
#   harness-entrypoint [sshd [SSHD-ARGS...]]   run sshd (the default)
#   harness-entrypoint COMMAND [ARGS...]       run anything else (e.g. `ssh -Q kex`)
#
# Inputs (all optional):
#   /harness/sshd_config       config to use; the harness writes it (ListenAddress, HostKey, ...)
#   /harness/authorized_keys   copied to ~sshharness/.ssh/authorized_keys if that does not exist
#   /home/sshharness           may be a bind mount (the per-run home); ownership is fixed here
#   HARNESS_LISTEN, HARNESS_PORT   address/port of the fallback config (default 127.0.0.1:2222)
set -eu

TEST_USER=sshharness
HOME_DIR=/home/$TEST_USER
CONFIG=${HARNESS_SSHD_CONFIG:-/harness/sshd_config}

prepare_home() {
    mkdir -p "$HOME_DIR/.ssh"
    if [ -f /harness/authorized_keys ] && [ ! -f "$HOME_DIR/.ssh/authorized_keys" ]; then
        cp /harness/authorized_keys "$HOME_DIR/.ssh/authorized_keys"
    fi
    # sshd (StrictModes) and other servers refuse keys in a home others can write to.
    chown -R "$TEST_USER:$TEST_USER" "$HOME_DIR"
    chmod 0755 "$HOME_DIR"
    chmod 0700 "$HOME_DIR/.ssh"
    [ ! -f "$HOME_DIR/.ssh/authorized_keys" ] || chmod 0600 "$HOME_DIR/.ssh/authorized_keys"
}

fallback_config() {
    # No config from the harness: every default key type, the given address, test user only.
    ssh-keygen -A >&2
    CONFIG=/run/harness-sshd_config
    cat >"$CONFIG" <<CONF
ListenAddress ${HARNESS_LISTEN}:${HARNESS_PORT}
UsePAM yes
AllowUsers $TEST_USER
PermitRootLogin no
Subsystem sftp internal-sftp
LogLevel DEBUG1
CONF
}

if [ "$#" -eq 0 ] || [ "$1" = sshd ]; then
    [ "$#" -eq 0 ] || shift
    mkdir -p /run/sshd
    chmod 0755 /run/sshd
    prepare_home
    [ -f "$CONFIG" ] || fallback_config
    exec /usr/sbin/sshd -D -e -f "$CONFIG" "$@"
fi
exec "$@"
