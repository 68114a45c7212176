/* Command line shared by the zoo's C clients (libssh-client, libssh2-client):
 *
 *   CLIENT -p PORT -l USER [-i KEY | -password-env VAR] [-known-hosts FILE] [-ciphers LIST] HOST COMMAND
 *
 * Without -known-hosts any host key is accepted; -ciphers replaces the library's cipher list
 * (both directions). The client runs COMMAND with its stdin,
 * stdout and stderr and exits with the remote exit status (255: connection or login failed).
 */
#ifndef ZOO_CLIENT_ARGS_H
#define ZOO_CLIENT_ARGS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client_args {
    const char *host, *user, *key, *password, *known_hosts, *command, *ciphers;
    int port;
};

static void client_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("zoo client: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(255);
}

static struct client_args parse_client_args(int argc, char **argv)
{
    struct client_args args = {NULL, getenv("USER"), NULL, NULL, NULL, NULL, NULL, 22};
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        const char *option = argv[i], *value = argv[i + 1];
        if (strcmp(option, "-p") == 0)
            args.port = atoi(value);
        else if (strcmp(option, "-l") == 0)
            args.user = value;
        else if (strcmp(option, "-i") == 0)
            args.key = value;
        else if (strcmp(option, "-password-env") == 0)
            args.password = getenv(value);
        else if (strcmp(option, "-known-hosts") == 0)
            args.known_hosts = value;
        else if (strcmp(option, "-ciphers") == 0)
            args.ciphers = value;
        else
            client_fail("unknown option %s", option);
    }
    if (argc - i != 2 || args.user == NULL || args.port <= 0)
        client_fail("usage: %s -p PORT -l USER [-i KEY | -password-env VAR] [-known-hosts FILE] [-ciphers LIST] HOST COMMAND",
                    argv[0]);
    args.host = argv[i];
    args.command = argv[i + 1];
    if (args.key == NULL && args.password == NULL)
        client_fail("give -i KEY or -password-env VAR (with VAR set)");
    return args;
}

#endif
