/* link_tcp: the socket half of link.c's TCP kinds (terminals on the shop's LAN: ZVT over
 * TCP on 20007, PAX on 10009). Private to lane/link.c.
 *
 *   pb_tcp_split()    "HOST:PORT" (or "[V6]:PORT") into host and port, malloc'd
 *   pb_tcp_connect()  a non-blocking connection to HOST:PORT, Nagle off, keepalive on
 *   pb_tcp_listen()   a listening socket on ADDR:PORT (SO_REUSEADDR)
 *   pb_tcp_accept()   the next waiting connection, non-blocking, Nagle off, keepalive on
 *
 * All return PB_OK with the descriptor set, PB_ERR_AGAIN (nobody there yet: retry), or
 * PB_ERR_SYNTAX / PB_ERR_IO with errno kept for the caller's message. */
#ifndef PB_LINK_TCP_H
#define PB_LINK_TCP_H

int pb_tcp_split(const char *hostport, char **host, char **port);
int pb_tcp_connect(const char *host, const char *port, int *fd);
int pb_tcp_listen(const char *host, const char *port, int *fd);
int pb_tcp_accept(int listen_fd, int *fd);

#endif
