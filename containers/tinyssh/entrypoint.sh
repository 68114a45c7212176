#!/bin/sh
# Entrypoint of harness-peer/tinyssh: make the host key directory, prepare the test user's home,
# then exec tcpserver (PID 1) running tinysshd per connection; tinysshd -v logs to stderr.
#
#   harness-entrypoint [tinysshd [EXTRA-TINYSSHD-ARGS...]]   serve (the default)
#   harness-entrypoint COMMAND [ARGS...]                     run anything else
#
# Inputs (all optional):
#   HARNESS_LISTEN, HARNESS_PORT   where to listen (default 127.0.0.1:2222)
#   /harness/hostkeys/tinyssh/     tinysshd's key directory (made with tinysshd-makekey if absent);
#                                  its public key goes to /harness/hostkeys/ssh_host_ed25519_key.pub
#   /harness/authorized_keys       copied to ~sshharness/.ssh/authorized_keys if that does not exist
#   /home/sshharness               may be a bind mount (the per-run home); ownership is fixed here
set -eu

TEST_USER=sshharness
HOME_DIR=/home/$TEST_USER
if [ -d /harness ]; then KEY_DIR=/harness/hostkeys; else KEY_DIR=/run/harness-hostkeys; fi

prepare_home() {
    mkdir -p "$HOME_DIR/.ssh"
    if [ -f /harness/authorized_keys ] && [ ! -f "$HOME_DIR/.ssh/authorized_keys" ]; then
        cp /harness/authorized_keys "$HOME_DIR/.ssh/authorized_keys"
    fi
    chown -R "$TEST_USER:$TEST_USER" "$HOME_DIR"
    chmod 0755 "$HOME_DIR"
    chmod 0700 "$HOME_DIR/.ssh"
    [ ! -f "$HOME_DIR/.ssh/authorized_keys" ] || chmod 0600 "$HOME_DIR/.ssh/authorized_keys"
}

if [ "$#" -eq 0 ] || [ "$1" = tinysshd ]; then
    [ "$#" -eq 0 ] || shift
    mkdir -p "$KEY_DIR"
    if [ ! -d "$KEY_DIR/tinyssh" ]; then
        tinysshd-makekey "$KEY_DIR/tinyssh"
    fi
    tinysshd-printkey "$KEY_DIR/tinyssh" >"$KEY_DIR/ssh_host_ed25519_key.pub"
    prepare_home
    # -H -R: no DNS/ident lookups; -D: TCP_NODELAY; -l0: no local name lookup.
    exec tcpserver -HRDl0 "$HARNESS_LISTEN" "$HARNESS_PORT" /usr/sbin/tinysshd -v "$@" "$KEY_DIR/tinyssh"
fi
exec "$@"
