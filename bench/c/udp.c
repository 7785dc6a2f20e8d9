/* C reference for bench/run.mjs: UDP on loopback, 64-byte datagrams.
 *   udp drain ROUNDS            prefill the receive queue, drain it with recv(MSG_DONTWAIT); prints msgs/s
 *   udp drain-mmsg ROUNDS       the same with recvmmsg (batches of 64)
 *   udp recv PORTFILE SECONDS   receive for SECONDS; prints the count
 *   udp send PORT SECONDS       send as fast as possible for SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int udp(struct sockaddr_in *sin) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  memset(sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, (struct sockaddr *)sin, sizeof *sin);
  socklen_t len = sizeof *sin;
  getsockname(fd, (struct sockaddr *)sin, &len);
  return fd;
}

static int bigbuf(int fd) {
  int sz = 64 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  return 0;
}

static long fill(int tx, struct sockaddr_in *to, long max) {
  char msg[64] = {0};
  long n = 0;
  while (n < max && sendto(tx, msg, sizeof msg, 0, (struct sockaddr *)to, sizeof *to) == sizeof msg) n++;
  return n;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  if (!strcmp(argv[1], "drain") || !strcmp(argv[1], "drain-mmsg")) {
    int mmsg = !strcmp(argv[1], "drain-mmsg");
    int rounds = atoi(argv[2]);
    long max = argc > 3 ? atol(argv[3]) : 20000;
    struct sockaddr_in a, b;
    int tx = udp(&a), rx = udp(&b);
    bigbuf(rx);
    double best = 0, total_t = 0;
    long total_n = 0;
    char buf[64][64];
    struct mmsghdr hdr[64];
    struct iovec iov[64];
    for (int i = 0; i < 64; i++) {
      iov[i].iov_base = buf[i];
      iov[i].iov_len = 64;
      memset(&hdr[i], 0, sizeof hdr[i]);
      hdr[i].msg_hdr.msg_iov = &iov[i];
      hdr[i].msg_hdr.msg_iovlen = 1;
    }
    for (int r = 0; r < rounds; r++) {
      long n = fill(tx, &b, max), got = 0;
      double t0 = now();
      if (mmsg) {
        int k;
        while ((k = recvmmsg(rx, hdr, 64, MSG_DONTWAIT, NULL)) > 0) got += k;
      } else {
        while (recv(rx, buf[0], 64, MSG_DONTWAIT) >= 0) got++;
      }
      double dt = now() - t0;
      if (got != n) fprintf(stderr, "drained %ld of %ld\n", got, n);
      total_t += dt;
      total_n += got;
      if (got / dt > best) best = got / dt;
    }
    printf("%.0f %.0f %ld\n", total_n / total_t, best, total_n / rounds);
    return 0;
  }
  if (!strcmp(argv[1], "recv")) {
    struct sockaddr_in a;
    int rx = udp(&a);
    bigbuf(rx);
    FILE *f = fopen(argv[2], "w");
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    double secs = atof(argv[3]);
    struct pollfd p = {rx, POLLIN, 0};
    char buf[64];
    long count = 0;
    /* wait for the first datagram, then count for `secs` */
    poll(&p, 1, 10000);
    double t0 = now(), end = t0 + secs;
    while (now() < end) {
      if (recv(rx, buf, sizeof buf, MSG_DONTWAIT) >= 0) {
        count++;
        continue;
      }
      poll(&p, 1, 10);
    }
    printf("%ld\n", (long)(count / secs));
    return 0;
  }
  if (!strcmp(argv[1], "send")) {
    struct sockaddr_in a, to;
    int tx = udp(&a);
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(atoi(argv[2]));
    double end = now() + atof(argv[3]);
    char msg[64] = {0};
    while (now() < end)
      for (int i = 0; i < 64; i++) sendto(tx, msg, sizeof msg, 0, (struct sockaddr *)&to, sizeof to);
    return 0;
  }
  return 2;
}
