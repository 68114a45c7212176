/* A small SSH server on libssh for the harness's peer zoo.
 *
 * The test user logs in with its password or an authorized key; "exec" and "shell" run
 * /bin/sh with the channel as stdin, stdout and stderr; the exit status is sent after all of
 * the command's output. One forked process per connection, one command at a time on it.
 * Settings come from the zoo entrypoint's environment (containers/zoo/common/entrypoint.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#define MAX_KEYS 64
#define CHUNK 32768
/* libssh 0.10.6's default server cipher list ends with a comma (an empty name, which RFC 4251
 * section 5 does not allow, and strict clients such as ours refuse the KEXINIT): the same
 * ciphers are set explicitly unless the server is started with --stock-ciphers. */
#define CIPHERS "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com," \
                "aes256-ctr,aes192-ctr,aes128-ctr"

static const char *user_name, *user_password;
static ssh_key authorized[MAX_KEYS];
static int authorized_count;

static const char *setting(const char *name)
{
    const char *value = getenv(name);
    if (value == NULL || *value == '\0') {
        fprintf(stderr, "zoo libssh server: %s is not set\n", name);
        exit(2);
    }
    return value;
}

static void load_authorized_keys(const char *path)
{
    char line[16384];
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        perror(path);
        exit(2);
    }
    while (fgets(line, sizeof line, file) != NULL && authorized_count < MAX_KEYS) {
        char *type = strtok(line, " \t\n");
        char *blob = strtok(NULL, " \t\n");
        if (type == NULL || blob == NULL || type[0] == '#')
            continue;
        if (ssh_pki_import_pubkey_base64(blob, ssh_key_type_from_name(type), &authorized[authorized_count]) == SSH_OK)
            authorized_count++;
        else
            fprintf(stderr, "zoo libssh server: skipping authorized key of type %s\n", type);
    }
    fclose(file);
}

static int key_is_authorized(ssh_key key)
{
    for (int i = 0; i < authorized_count; i++)
        if (ssh_key_cmp(key, authorized[i], SSH_KEY_CMP_PUBLIC) == 0)
            return 1;
    return 0;
}

/* Answers one authentication request; returns 1 once the user is logged in. */
static int handle_auth(ssh_message message)
{
    const char *user = ssh_message_auth_user(message);
    int right_user = user != NULL && strcmp(user, user_name) == 0;
    switch (ssh_message_subtype(message)) {
    case SSH_AUTH_METHOD_PASSWORD: {
        const char *password = ssh_message_auth_password(message);
        if (right_user && password != NULL && strcmp(password, user_password) == 0) {
            ssh_message_auth_reply_success(message, 0);
            return 1;
        }
        break;
    }
    case SSH_AUTH_METHOD_PUBLICKEY: {
        ssh_key key = ssh_message_auth_pubkey(message);
        if (right_user && key != NULL && key_is_authorized(key)) {
            enum ssh_publickey_state_e state = ssh_message_auth_publickey_state(message);
            if (state == SSH_PUBLICKEY_STATE_NONE) {
                ssh_message_auth_reply_pk_ok_simple(message);
                return 0;
            }
            if (state == SSH_PUBLICKEY_STATE_VALID) {
                ssh_message_auth_reply_success(message, 0);
                return 1;
            }
        }
        break;
    }
    default:
        break;
    }
    ssh_message_auth_set_methods(message, SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY);
    ssh_message_reply_default(message);
    return 0;
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Forwards one read from a pipe to the channel; returns 0 at the pipe's EOF. */
static int forward_output(int fd, ssh_channel channel, int is_stderr)
{
    char buffer[CHUNK];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    if (n <= 0)
        return 0;
    int sent = is_stderr ? ssh_channel_write_stderr(channel, buffer, (uint32_t)n)
                         : ssh_channel_write(channel, buffer, (uint32_t)n);
    return sent == SSH_ERROR ? 0 : 1;
}

/* Runs argv with the channel as its stdin/stdout/stderr; sends exit-status, EOF and close. */
static void run_command(ssh_session session, ssh_channel channel, const char *command)
{
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err)) {
        perror("pipe");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[1]); close(out[0]); close(err[0]);
        close(in[0]); close(out[1]); close(err[1]);
        if (command != NULL)
            execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        else
            execl("/bin/sh", "sh", (char *)NULL);
        _exit(127);
    }
    close(in[0]); close(out[1]); close(err[1]);
    int stdin_fd = in[1], stdout_fd = out[0], stderr_fd = err[0];
    set_nonblocking(stdin_fd);
    set_nonblocking(stdout_fd);
    set_nonblocking(stderr_fd);
    char pending[CHUNK];
    size_t pending_len = 0, pending_off = 0;
    while (stdout_fd >= 0 || stderr_fd >= 0) {
        struct pollfd fds[4] = {
            {ssh_get_fd(session), POLLIN, 0},
            {stdout_fd, POLLIN, 0},
            {stderr_fd, POLLIN, 0},
            {pending_len > pending_off ? stdin_fd : -1, POLLOUT, 0},
        };
        poll(fds, 4, 100);
        /* Client data into the command's stdin, one buffer at a time (never blocking on it). */
        if (stdin_fd >= 0 && pending_len == pending_off) {
            /* ssh_channel_poll_timeout reads packets off the socket (a nonblocking read here
             * left the client's EOF unprocessed in the socket); 0 ms: never wait here. */
            int n = ssh_channel_poll_timeout(channel, 0, 0);
            if (n > 0)
                n = ssh_channel_read_nonblocking(channel, pending, sizeof pending, 0);
            if (n > 0) {
                pending_len = (size_t)n;
                pending_off = 0;
            } else if (n == SSH_ERROR || n == SSH_EOF) {
                close(stdin_fd);
                stdin_fd = -1;
            }
        } else {
            ssh_channel_poll_timeout(channel, 0, 0); /* keep processing packets (window adjusts) */
        }
        if (stdin_fd >= 0 && pending_len > pending_off) {
            ssize_t n = write(stdin_fd, pending + pending_off, pending_len - pending_off);
            if (n > 0)
                pending_off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR) { /* the command stopped reading */
                close(stdin_fd);
                stdin_fd = -1;
            }
        }
        if (stdout_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !forward_output(stdout_fd, channel, 0)) {
            close(stdout_fd);
            stdout_fd = -1;
        }
        if (stderr_fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) && !forward_output(stderr_fd, channel, 1)) {
            close(stderr_fd);
            stderr_fd = -1;
        }
        if (ssh_channel_is_closed(channel) || (ssh_get_status(session) & (SSH_CLOSED | SSH_CLOSED_ERROR)))
            break; /* the client went away: stop forwarding, reap the command */
    }
    if (stdin_fd >= 0)
        close(stdin_fd);
    int status = 0;
    waitpid(pid, &status, 0);
    ssh_channel_request_send_exit_status(channel, WIFEXITED(status) ? WEXITSTATUS(status) : 255);
    ssh_channel_send_eof(channel);
    ssh_channel_close(channel);
}

/* One connection: key exchange, authentication, then session channels and their commands. */
static void serve(ssh_session session)
{
    if (ssh_handle_key_exchange(session) != SSH_OK) {
        fprintf(stderr, "zoo libssh server: key exchange: %s\n", ssh_get_error(session));
        return;
    }
    ssh_set_auth_methods(session, SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_PUBLICKEY);
    int authenticated = 0;
    ssh_channel channel = NULL;
    ssh_message message;
    while ((message = ssh_message_get(session)) != NULL) {
        int type = ssh_message_type(message), subtype = ssh_message_subtype(message);
        if (!authenticated && type == SSH_REQUEST_AUTH) {
            authenticated = handle_auth(message);
        } else if (authenticated && type == SSH_REQUEST_CHANNEL_OPEN && subtype == SSH_CHANNEL_SESSION && channel == NULL) {
            channel = ssh_message_channel_request_open_reply_accept(message);
        } else if (authenticated && type == SSH_REQUEST_CHANNEL && channel != NULL &&
                   (subtype == SSH_CHANNEL_REQUEST_EXEC || subtype == SSH_CHANNEL_REQUEST_SHELL)) {
            char *command = NULL;
            if (subtype == SSH_CHANNEL_REQUEST_EXEC)
                command = strdup(ssh_message_channel_request_command(message));
            ssh_message_channel_request_reply_success(message);
            ssh_message_free(message);
            run_command(session, channel, command);
            free(command);
            ssh_channel_free(channel);
            channel = NULL;
            continue;
        } else {
            ssh_message_reply_default(message);
        }
        ssh_message_free(message);
    }
    ssh_disconnect(session);
}

int main(int argc, char **argv)
{
    int stock_ciphers = argc > 1 && strcmp(argv[1], "--stock-ciphers") == 0;
    user_name = setting("HARNESS_USER");
    user_password = setting("HARNESS_PASSWORD");
    load_authorized_keys(setting("HARNESS_AUTHORIZED_KEYS"));
    ssh_init();
    ssh_bind bind = ssh_bind_new();
    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BINDADDR, setting("HARNESS_LISTEN"));
    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_BINDPORT_STR, setting("HARNESS_PORT"));
    if (!stock_ciphers) {
        ssh_bind_options_set(bind, SSH_BIND_OPTIONS_CIPHERS_C_S, CIPHERS);
        ssh_bind_options_set(bind, SSH_BIND_OPTIONS_CIPHERS_S_C, CIPHERS);
    }
    char *keys = strdup(setting("HARNESS_HOST_KEYS"));
    for (char *key = strtok(keys, " "); key != NULL; key = strtok(NULL, " ")) {
        if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HOSTKEY, key) != SSH_OK) {
            fprintf(stderr, "zoo libssh server: host key %s: %s\n", key, ssh_get_error(bind));
            return 2;
        }
    }
    if (ssh_bind_listen(bind) != SSH_OK) {
        fprintf(stderr, "zoo libssh server: %s\n", ssh_get_error(bind));
        return 1;
    }
    fprintf(stderr, "zoo: libssh %s listening on %s:%s\n", ssh_version(0), getenv("HARNESS_LISTEN"), getenv("HARNESS_PORT"));
    signal(SIGCHLD, SIG_IGN); /* connection processes reap themselves */
    for (;;) {
        ssh_session session = ssh_new();
        if (ssh_bind_accept(bind, session) != SSH_OK) {
            fprintf(stderr, "zoo libssh server: accept: %s\n", ssh_get_error(bind));
            ssh_free(session);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGCHLD, SIG_DFL);
            ssh_bind_free(bind);
            serve(session);
            ssh_free(session);
            _exit(0);
        }
        ssh_free(session);
    }
}
