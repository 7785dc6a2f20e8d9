/* What the C references of bench/run.mjs (udp.c, ref.c) share: a monotonic
 * clock, a loopback UDP socket, and the file a server names its port in. */
#ifndef KSOCK_BENCH_H
#define KSOCK_BENCH_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks (written back
 * into *sin); O_NONBLOCK when nonblock is set. -1 on failure. */
static inline int udp_loopback(struct sockaddr_in *sin, int nonblock) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  if (nonblock) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  memset(sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *sin;
  if (bind(fd, (struct sockaddr *)sin, sizeof *sin) < 0 || getsockname(fd, (struct sockaddr *)sin, &len) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Writes the port to PATH (how run.mjs learns where a server listens). */
static inline int write_port(const char *path, const struct sockaddr_in *sin) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "%d\n", ntohs(sin->sin_port));
  return fclose(f);
}

/* 127.0.0.1:PORT */
static inline struct sockaddr_in loopback_port(int port) {
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons((unsigned short)port);
  return to;
}

#endif
