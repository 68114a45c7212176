/* A small SSH client on libssh2 1.10 for the harness's peer zoo (arguments: client_args.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>

#include "client_args.h"

#define CHUNK 32768

static int connect_tcp(const char *host, int port)
{
    char service[16];
    struct addrinfo hints = {0}, *found;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(host, service, &hints, &found) != 0)
        client_fail("cannot resolve %s", host);
    int sock = socket(found->ai_family, SOCK_STREAM, 0);
    if (sock < 0 || connect(sock, found->ai_addr, found->ai_addrlen) != 0)
        client_fail("connect %s:%d: %s", host, port, strerror(errno));
    freeaddrinfo(found);
    return sock;
}

static void check_host_key(LIBSSH2_SESSION *session, const struct client_args *args)
{
    size_t length;
    int type;
    const char *key = libssh2_session_hostkey(session, &length, &type);
    LIBSSH2_KNOWNHOSTS *known = libssh2_knownhost_init(session);
    if (key == NULL || known == NULL ||
        libssh2_knownhost_readfile(known, args->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0)
        client_fail("cannot read %s", args->known_hosts);
    int check = libssh2_knownhost_checkp(known, args->host, args->port, key, length,
                                         LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW, NULL);
    libssh2_knownhost_free(known);
    if (check != LIBSSH2_KNOWNHOST_CHECK_MATCH)
        client_fail("host key of %s:%d does not match %s (check %d)", args->host, args->port, args->known_hosts, check);
}

/* Copies what the channel has on one stream to fd; returns 0 at EAGAIN, -1 on error. */
static int drain(LIBSSH2_CHANNEL *channel, int stream, int fd)
{
    char buffer[CHUNK];
    for (;;) {
        ssize_t n = libssh2_channel_read_ex(channel, stream, buffer, sizeof buffer);
        if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
            return 0;
        if (n < 0)
            return -1;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(fd, buffer + done, (size_t)(n - done));
            if (w <= 0)
                return -1;
            done += w;
        }
    }
}

int main(int argc, char **argv)
{
    struct client_args args = parse_client_args(argc, argv);
    libssh2_init(0);
    int sock = connect_tcp(args.host, args.port);
    LIBSSH2_SESSION *session = libssh2_session_init();
    if (args.ciphers != NULL && (libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_CS, args.ciphers) != 0 ||
                                 libssh2_session_method_pref(session, LIBSSH2_METHOD_CRYPT_SC, args.ciphers) != 0))
        client_fail("bad -ciphers %s", args.ciphers);
    if (libssh2_session_handshake(session, sock) != 0)
        client_fail("handshake failed");
    if (args.known_hosts != NULL)
        check_host_key(session, &args);
    int auth = args.key != NULL ? libssh2_userauth_publickey_fromfile(session, args.user, NULL, args.key, NULL)
                                : libssh2_userauth_password(session, args.user, args.password);
    if (auth != 0) {
        char *message;
        libssh2_session_last_error(session, &message, NULL, 0);
        client_fail("authentication failed (%d): %s", auth, message);
    }
    LIBSSH2_CHANNEL *channel = libssh2_channel_open_session(session);
    if (channel == NULL || libssh2_channel_exec(channel, args.command) != 0)
        client_fail("exec failed");
    libssh2_session_set_blocking(session, 0);
    char pending[CHUNK];
    ssize_t pending_len = 0, pending_off = 0;
    int stdin_open = 1, eof_sent = 0;
    while (!libssh2_channel_eof(channel)) {
        struct pollfd fds[2] = {{sock, POLLIN, 0}, {stdin_open && pending_len == pending_off ? 0 : -1, POLLIN, 0}};
        poll(fds, 2, pending_len > pending_off ? 10 : 100);
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            pending_len = read(0, pending, sizeof pending);
            pending_off = 0;
            if (pending_len <= 0) {
                pending_len = 0;
                stdin_open = 0;
            }
        }
        while (pending_off < pending_len) {
            ssize_t n = libssh2_channel_write(channel, pending + pending_off, (size_t)(pending_len - pending_off));
            if (n == LIBSSH2_ERROR_EAGAIN)
                break;
            if (n < 0)
                client_fail("send failed (%zd)", n);
            pending_off += n;
        }
        if (!stdin_open && !eof_sent && pending_off == pending_len && libssh2_channel_send_eof(channel) == 0)
            eof_sent = 1;
        if (drain(channel, 0, 1) < 0 || drain(channel, SSH_EXTENDED_DATA_STDERR, 2) < 0)
            client_fail("receive failed");
    }
    libssh2_session_set_blocking(session, 1);
    drain(channel, 0, 1);
    drain(channel, SSH_EXTENDED_DATA_STDERR, 2);
    libssh2_channel_close(channel);
    libssh2_channel_wait_closed(channel);
    int status = libssh2_channel_get_exit_status(channel);
    libssh2_channel_free(channel);
    libssh2_session_disconnect(session, "done");
    libssh2_session_free(session);
    close(sock);
    return status;
}
