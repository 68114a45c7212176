/* A small SSH client on libssh 0.10 for the harness's peer zoo (arguments: client_args.h). */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "client_args.h"

#define CHUNK 32768

/* Writes all of buffer to fd (stdout/stderr are blocking). */
static void write_all(int fd, const char *buffer, int length)
{
    while (length > 0) {
        ssize_t n = write(fd, buffer, (size_t)length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            client_fail("write: %s", strerror(errno));
        buffer += n;
        length -= (int)n;
    }
}

/* Copies what the channel has on one stream to fd; returns bytes copied or -1 on error. */
static int drain(ssh_channel channel, int is_stderr, int fd)
{
    char buffer[CHUNK];
    int total = 0, n;
    while ((n = ssh_channel_read_nonblocking(channel, buffer, sizeof buffer, is_stderr)) > 0) {
        write_all(fd, buffer, n);
        total += n;
    }
    return n == SSH_ERROR ? -1 : total;
}

int main(int argc, char **argv)
{
    struct client_args args = parse_client_args(argc, argv);
    ssh_session session = ssh_new();
    unsigned int port = (unsigned int)args.port;
    ssh_options_set(session, SSH_OPTIONS_HOST, args.host);
    ssh_options_set(session, SSH_OPTIONS_PORT, &port);
    ssh_options_set(session, SSH_OPTIONS_USER, args.user);
    ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &(int){0});
    if (args.known_hosts != NULL)
        ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, args.known_hosts);
    /* libssh 0.10.6's default cipher list ends with a comma (an empty name, see libssh-server.c):
     * the scenario runner gives the same ciphers explicitly. */
    if (args.ciphers != NULL && (ssh_options_set(session, SSH_OPTIONS_CIPHERS_C_S, args.ciphers) != SSH_OK ||
                                 ssh_options_set(session, SSH_OPTIONS_CIPHERS_S_C, args.ciphers) != SSH_OK))
        client_fail("bad -ciphers %s", args.ciphers);
    if (ssh_connect(session) != SSH_OK)
        client_fail("connect: %s", ssh_get_error(session));
    if (args.known_hosts != NULL && ssh_session_is_known_server(session) != SSH_KNOWN_HOSTS_OK)
        client_fail("host key of %s:%d is not in %s", args.host, args.port, args.known_hosts);
    int auth = SSH_AUTH_DENIED;
    if (args.key != NULL) {
        ssh_key key;
        if (ssh_pki_import_privkey_file(args.key, NULL, NULL, NULL, &key) != SSH_OK)
            client_fail("cannot read key %s", args.key);
        auth = ssh_userauth_publickey(session, NULL, key);
        ssh_key_free(key);
    } else {
        auth = ssh_userauth_password(session, NULL, args.password);
    }
    if (auth != SSH_AUTH_SUCCESS)
        client_fail("authentication failed: %s", ssh_get_error(session));
    ssh_channel channel = ssh_channel_new(session);
    if (channel == NULL || ssh_channel_open_session(channel) != SSH_OK ||
        ssh_channel_request_exec(channel, args.command) != SSH_OK)
        client_fail("exec: %s", ssh_get_error(session));
    int stdin_open = 1;
    for (;;) {
        struct pollfd fds[2] = {{ssh_get_fd(session), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        poll(fds, 2, 100);
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buffer[CHUNK];
            ssize_t n = read(0, buffer, sizeof buffer);
            if (n > 0) {
                if (ssh_channel_write(channel, buffer, (uint32_t)n) == SSH_ERROR)
                    client_fail("send: %s", ssh_get_error(session));
            } else if (n == 0 || errno != EINTR) {
                ssh_channel_send_eof(channel);
                stdin_open = 0;
            }
        }
        if (drain(channel, 0, 1) < 0 || drain(channel, 1, 2) < 0)
            client_fail("receive: %s", ssh_get_error(session));
        if (ssh_channel_is_eof(channel) || ssh_channel_is_closed(channel))
            break;
    }
    int status = ssh_channel_get_exit_status(channel);
    ssh_channel_close(channel);
    ssh_channel_free(channel);
    ssh_disconnect(session);
    ssh_free(session);
    return status < 0 ? 255 : status;
}
