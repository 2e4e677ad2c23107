/* TCP sockets for link.c (link_tcp.h). A connection is the same byte stream as a serial
 * line: no framing is added or removed, and Nagle is off so that a one-byte ACK leaves
 * when it is written, as it would on a UART. */
#include "link_tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pb_error.h"

int pb_tcp_split(const char *hostport, char **host, char **port)
{
    *host = *port = NULL;
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || !colon[1])
        return PB_ERR_SYNTAX;
    const char *h = hostport;
    size_t hlen = (size_t)(colon - hostport);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') { /* [::1]:20007 */
        h++;
        hlen -= 2;
    }
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return PB_ERR_SYNTAX;
    long n = strtol(colon + 1, NULL, 10);
    if (n < 1 || n > 65535 || hlen == 0)
        return PB_ERR_SYNTAX;
    *host = strndup(h, hlen);
    *port = strdup(colon + 1);
    if (!*host || !*port) {
        free(*host);
        free(*port);
        *host = *port = NULL;
        return PB_ERR_NOMEM;
    }
    return PB_OK;
}

static void tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

static bool absent(int e)
{
    return e == ECONNREFUSED || e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH ||
           e == EAGAIN || e == ECONNRESET || e == EADDRNOTAVAIL;
}

int pb_tcp_connect(const char *host, const char *port, int *fd)
{
    *fd = -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        errno = g == EAI_SYSTEM ? errno : EHOSTUNREACH;
        return g == EAI_NONAME ? PB_ERR_IO : PB_ERR_AGAIN; /* DNS down: later */
    }
    int rc = PB_ERR_AGAIN, e = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int s = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            e = errno;
            continue;
        }
        tune(s);
        if (connect(s, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            /* In progress is up: writes wait (EAGAIN) until it is, and a refusal shows
             * as a failed read, which the link takes as the port lost. */
            *fd = s;
            rc = PB_OK;
            break;
        }
        e = errno;
        close(s);
        rc = absent(e) ? PB_ERR_AGAIN : PB_ERR_IO;
    }
    freeaddrinfo(res);
    if (rc != PB_OK)
        errno = e;
    return rc;
}

int pb_tcp_listen(const char *host, const char *port, int *fd)
{
    *fd = -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
    if (g != 0) {
        errno = g == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
        return PB_ERR_IO;
    }
    int e = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int s = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, a->ai_addr, a->ai_addrlen) == 0 && listen(s, 4) == 0) {
            *fd = s;
            freeaddrinfo(res);
            return PB_OK;
        }
        e = errno;
        close(s);
    }
    freeaddrinfo(res);
    errno = e;
    return PB_ERR_IO;
}

int pb_tcp_accept(int listen_fd, int *fd)
{
    int s = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0) {
        *fd = -1;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR
                   ? PB_ERR_AGAIN
                   : PB_ERR_IO;
    }
    tune(s);
    *fd = s;
    return PB_OK;
}
