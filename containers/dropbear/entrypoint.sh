#!/bin/sh
# Entrypoint of harness-peer/dropbear: make host keys, prepare the test user's home, then exec
# dropbear in the foreground (PID 1, logging to stderr = `docker logs`).
#
#   harness-entrypoint [dropbear [EXTRA-DROPBEAR-ARGS...]]   run dropbear (the default)
#   harness-entrypoint COMMAND [ARGS...]                     run anything else
#
# Inputs (all optional):
#   HARNESS_LISTEN, HARNESS_PORT   where to listen (default 127.0.0.1:2222)
#   HARNESS_HOST_KEYS   host key names to make: ed25519 ecdsa-256 ecdsa-384 ecdsa-521 rsa dsa.
#                       Dropbear takes at most 4 (MAX_HOSTKEYS); types this build cannot make
#                       (dsa in newer releases) are skipped with a note on stderr.
#   /harness/hostkeys/  where keys go (kept if present); each gets a `.pub` in OpenSSH format
#   /harness/authorized_keys   copied to ~sshharness/.ssh/authorized_keys if that does not exist
#   /home/sshharness    may be a bind mount (the per-run home); ownership is fixed here
set -eu

TEST_USER=sshharness
HOME_DIR=/home/$TEST_USER
if [ -d /harness ]; then KEY_DIR=/harness/hostkeys; else KEY_DIR=/run/harness-hostkeys; fi

prepare_home() {
    mkdir -p "$HOME_DIR/.ssh"
    if [ -f /harness/authorized_keys ] && [ ! -f "$HOME_DIR/.ssh/authorized_keys" ]; then
        cp /harness/authorized_keys "$HOME_DIR/.ssh/authorized_keys"
    fi
    # Dropbear refuses authorized_keys when the home or ~/.ssh is writable by others.
    chown -R "$TEST_USER:$TEST_USER" "$HOME_DIR"
    chmod 0755 "$HOME_DIR"
    chmod 0700 "$HOME_DIR/.ssh"
    [ ! -f "$HOME_DIR/.ssh/authorized_keys" ] || chmod 0600 "$HOME_DIR/.ssh/authorized_keys"
}

key_args() {
    case "$1" in
        ed25519) echo "-t ed25519" ;;
        ecdsa-256 | ecdsa-384 | ecdsa-521) echo "-t ecdsa -s ${1#ecdsa-}" ;;
        rsa) echo "-t rsa -s 2048" ;;
        dsa) echo "-t dss" ;;
        *) return 1 ;;
    esac
}

make_host_keys() {
    mkdir -p "$KEY_DIR"
    HOST_KEY_ARGS=""
    for name in $HARNESS_HOST_KEYS; do
        args=$(key_args "$name") || { echo "harness-entrypoint: unknown host key type $name" >&2; exit 2; }
        key="$KEY_DIR/dropbear_$(echo "$name" | tr - _)_host_key"
        if [ ! -f "$key" ]; then
            # shellcheck disable=SC2086  # $args is a word list on purpose
            if ! dropbearkey $args -f "$key" >/dev/null 2>"$key.err"; then
                echo "harness-entrypoint: skipping $name host key: $(cat "$key.err")" >&2
                rm -f "$key" "$key.err"
                continue
            fi
            rm -f "$key.err"
            dropbearkey -y -f "$key" | grep -E '^(ssh-|ecdsa-|rsa-)' | cut -d' ' -f1,2 >"$key.pub"
        fi
        HOST_KEY_ARGS="$HOST_KEY_ARGS -r $key"
    done
}

if [ "$#" -eq 0 ] || [ "$1" = dropbear ]; then
    [ "$#" -eq 0 ] || shift
    make_host_keys
    prepare_home
    # -F foreground, -E log to stderr, -w no root logins; passwords stay on (no -s/-g).
    # shellcheck disable=SC2086
    exec /usr/sbin/dropbear -F -E -w -p "${HARNESS_LISTEN}:${HARNESS_PORT}" $HOST_KEY_ARGS "$@"
fi
exec "$@"
