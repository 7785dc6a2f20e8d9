/* C reference for bench/run.mjs (mmsg): sendmmsg with a destination per message.
 *   mmsg SECONDS   one nonblocking UDP sender, 4 bound UDP receivers on 127.0.0.1
 *                  (big SO_RCVBUF, never read), batches of 64 64-byte messages,
 *                  message i to receiver i % 4 through its own msg_name; sends for
 *                  SECONDS after a 0.2 s warm-up and prints the messages the
 *                  kernel took per second (poll(POLLOUT) when it took none).
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

#define BATCH 64
#define RECEIVERS 4
#define RCVBUF (8 << 20)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int udp(struct sockaddr_in *sin) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    exit(1);
  }
  memset(sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *sin;
  if (bind(fd, (struct sockaddr *)sin, sizeof *sin) < 0 || getsockname(fd, (struct sockaddr *)sin, &len) < 0) {
    perror("bind");
    exit(1);
  }
  return fd;
}

/* Sends batches until `end`; the messages the kernel took. */
static long run(int tx, struct mmsghdr *hdr, double end) {
  struct pollfd p = {tx, POLLOUT, 0};
  long sent = 0;
  while (now() < end) {
    int n = sendmmsg(tx, hdr, BATCH, 0);
    if (n > 0) {
      sent += n;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      poll(&p, 1, 10);
    } else if (n < 0 && errno != EINTR) {
      perror("sendmmsg");
      exit(1);
    }
  }
  return sent;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  double secs = atof(argv[1]);
  struct sockaddr_in self, to[RECEIVERS];
  int rx[RECEIVERS];
  for (int r = 0; r < RECEIVERS; r++) {
    rx[r] = udp(&to[r]);
    int sz = RCVBUF;
    if (setsockopt(rx[r], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
      setsockopt(rx[r], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  }
  int tx = udp(&self);
  static char payload[BATCH][64];
  struct iovec iov[BATCH];
  struct mmsghdr hdr[BATCH];
  memset(hdr, 0, sizeof hdr);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = payload[i];
    iov[i].iov_len = sizeof payload[i];
    hdr[i].msg_hdr.msg_iov = &iov[i];
    hdr[i].msg_hdr.msg_iovlen = 1;
    hdr[i].msg_hdr.msg_name = &to[i % RECEIVERS];
    hdr[i].msg_hdr.msg_namelen = sizeof to[i % RECEIVERS];
  }
  run(tx, hdr, now() + 0.2); /* warm-up */
  double t0 = now();
  long sent = run(tx, hdr, t0 + secs);
  double dt = now() - t0;
  printf("%.0f\n", sent / dt);
  for (int r = 0; r < RECEIVERS; r++) close(rx[r]);
  close(tx);
  return 0;
}
