/* C reference for bench/run.mjs: UDP on loopback, 64-byte datagrams.
 *   udp drain ROUNDS [MAX]       prefill the receive queue, drain it with recv(MSG_DONTWAIT); prints msgs/s
 *   udp drain-recvmsg ROUNDS [MAX]  the same with recvmsg(2) and a msghdr, as ksock's soreceive calls it
 *   udp drain-mmsg ROUNDS [MAX]  the same with recvmmsg (batches of 64)
 *   udp recv PORTFILE SECONDS    a nonblocking receiver that waits the way ksock's upcall does: poll(),
 *                                then recv until EAGAIN; counts for SECONDS from the first datagram,
 *                                prints msgs/s
 *   udp send PORT SECONDS        send as fast as possible for SECONDS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "bench.h"

/* A 64 MiB receive queue (above rmem_max where we may), as ksock's and
 * dgram's receivers get. */
static void bigbuf(int fd) {
  int sz = 64 << 20;
#ifdef SO_RCVBUFFORCE
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) == 0) return;
#endif
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

static long fill(int tx, struct sockaddr_in *to, long max) {
  char msg[64] = {0};
  long n = 0;
  while (n < max && sendto(tx, msg, sizeof msg, 0, (struct sockaddr *)to, sizeof *to) == sizeof msg) n++;
  return n;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  if (!strcmp(argv[1], "drain") || !strcmp(argv[1], "drain-mmsg") || !strcmp(argv[1], "drain-recvmsg")) {
    int mmsg = !strcmp(argv[1], "drain-mmsg");
    int use_recvmsg = !strcmp(argv[1], "drain-recvmsg");
    int rounds = atoi(argv[2]);
    long max = argc > 3 ? atol(argv[3]) : 20000;
    struct sockaddr_in a, b;
    int tx = udp_loopback(&a, 1), rx = udp_loopback(&b, 1);
    if (tx < 0 || rx < 0) { perror("udp"); return 1; }
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
      } else if (use_recvmsg) {
        for (;;) {
          struct iovec v = {buf[0], 64};
          struct msghdr m;
          memset(&m, 0, sizeof m);
          m.msg_iov = &v;
          m.msg_iovlen = 1;
          if (recvmsg(rx, &m, MSG_DONTWAIT) < 0) break;
          got++;
        }
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
    if (argc < 4) return 2;
    struct sockaddr_in a;
    int rx = udp_loopback(&a, 1);
    if (rx < 0) { perror("recv"); return 1; }
    bigbuf(rx);
    if (write_port(argv[2], &a) < 0) { perror(argv[2]); return 1; }
    double secs = atof(argv[3]);
    struct pollfd p = {rx, POLLIN, 0};
    char buf[64];
    long count = 0;
    double t0 = 0, end = 0;
    /* Wait until readable, drain until EAGAIN, look at the clock: what ksock's
     * upcall (a readability callback draining with MSG_DONTWAIT) does. */
    for (;;) {
      if (poll(&p, 1, t0 == 0 ? 10000 : 100) <= 0 && t0 == 0) { fprintf(stderr, "recv: nothing came\n"); return 1; }
      if (t0 == 0) { t0 = now(); end = t0 + secs; }
      while (recv(rx, buf, sizeof buf, 0) >= 0) count++;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { perror("recv"); return 1; }
      if (now() >= end) break;
    }
    printf("%.0f\n", count / (now() - t0));
    return 0;
  }
  if (!strcmp(argv[1], "send")) {
    if (argc < 4) return 2;
    struct sockaddr_in a, to = loopback_port(atoi(argv[2]));
    int tx = udp_loopback(&a, 1);
    if (tx < 0) { perror("send"); return 1; }
    double end = now() + atof(argv[3]);
    char msg[64] = {0};
    while (now() < end)
      for (int i = 0; i < 64; i++) sendto(tx, msg, sizeof msg, 0, (struct sockaddr *)&to, sizeof to);
    return 0;
  }
  return 2;
}
