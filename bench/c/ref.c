/* More C references for bench/run.mjs.
 *   ref fdpass ROUNDS BATCH          SCM_RIGHTS over an AF_UNIX datagram socketpair, one process:
 *                                    BATCH sends of 1 fd, then BATCH receives (each fd closed); prints msgs/s
 *   ref unix-writer NAME             connects to the abstract AF_UNIX stream address NAME (retrying for up
 *                                    to 10 s while nobody listens) and writes 64 KiB chunks until the
 *                                    reader goes away (EPIPE): the one writer every stream reader reads from
 *   ref unix-reader-poll NAME SECS   listens on NAME, accepts one writer, reads 64 KiB at a time from a
 *                                    nonblocking socket and waits in poll() on EAGAIN, as ksock's reader
 *                                    does; counts for SECS from the first read, prints bytes/s
 *   ref unix-reader NAME SECS        the same with blocking reads
 *   ref rtt-server PORTFILE          UDP echo server (blocking), until a datagram of 0 bytes
 *   ref rtt-client PORT N            N UDP round trips of 64 bytes (blocking); prints round trips/s
 *   ref rtt-server-poll PORTFILE     the same two with O_NONBLOCK sockets that wait in poll() and then
 *   ref rtt-client-poll PORT N       recv until EAGAIN (the server echoes every datagram it drains)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/un.h>

#include "bench.h"

static int send_fd(int s, int fd) {
  char byte = 'F';
  struct iovec iov = {&byte, 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof u.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(s, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int s) {
  char byte;
  struct iovec iov = {&byte, 1};
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = u.buf;
  m.msg_controllen = sizeof u.buf;
  if (recvmsg(s, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  int fd = -1;
  if (c && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

/* The abstract AF_UNIX address \0NAME; its length in *len. */
static struct sockaddr_un abstract(const char *name, socklen_t *len) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  size_t n = strlen(name);
  if (n > sizeof a.sun_path - 1) n = sizeof a.sun_path - 1;
  memcpy(a.sun_path + 1, name, n);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  return a;
}

static int unix_writer(const char *name) {
  socklen_t len;
  struct sockaddr_un a = abstract(name, &len);
  static char buf[65536];
  signal(SIGPIPE, SIG_IGN);
  int s = -1;
  /* The reader may not be listening yet: retry (1 ms apart) for up to 10 s. */
  for (int i = 0; i < 10000; i++) {
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) { perror("socket"); return 1; }
    if (connect(s, (struct sockaddr *)&a, len) == 0) break;
    if (errno != ECONNREFUSED && errno != ENOENT && errno != EAGAIN) { perror("connect"); return 1; }
    close(s);
    s = -1;
    usleep(1000);
  }
  if (s < 0) { fprintf(stderr, "unix-writer: nobody listens on %s\n", name); return 1; }
  for (;;) {
    ssize_t n = write(s, buf, sizeof buf);
    if (n < 0 && errno != EINTR) return errno == EPIPE || errno == ECONNRESET ? 0 : (perror("write"), 1);
  }
}

static int unix_reader(const char *name, double secs, int nonblocking) {
  socklen_t len;
  struct sockaddr_un a = abstract(name, &len);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  if (l < 0 || bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 1) < 0) { perror("listen"); return 1; }
  struct pollfd lp = {l, POLLIN, 0};
  if (poll(&lp, 1, 30000) != 1) { fprintf(stderr, "unix-reader: no writer came\n"); return 1; }
  int s = accept(l, NULL, NULL);
  if (s < 0) { perror("accept"); return 1; }
  close(l);
  if (nonblocking) fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
  static char buf[65536];
  struct pollfd p = {s, POLLIN, 0};
  long long bytes = 0;
  double t0 = 0, end = 0;
  for (;;) {
    ssize_t n = read(s, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      poll(&p, 1, 1000);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (t0 == 0) { /* the writer is running: start counting */
      t0 = now();
      end = t0 + secs;
      continue;
    }
    bytes += n;
    if (now() >= end) break;
  }
  double dt = now() - t0;
  close(s);
  if (t0 == 0) { fprintf(stderr, "unix-reader: nothing read\n"); return 1; }
  printf("%.0f\n", bytes / dt);
  return 0;
}

/* One round trip client: blocking, or nonblocking with poll() on EAGAIN. */
static int rtt_client(int port, long n, int nonblocking) {
  struct sockaddr_in a, to = loopback_port(port);
  int s = udp_loopback(&a, nonblocking);
  if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) < 0) { perror("rtt-client"); return 1; }
  struct pollfd p = {s, POLLIN, 0};
  char buf[64] = {0};
  double t0 = now();
  for (long i = 0; i < n; i++) {
    send(s, buf, sizeof buf, 0);
    for (;;) {
      if (recv(s, buf, sizeof buf, 0) >= 0) break;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (poll(&p, 1, 5000) == 0) { fprintf(stderr, "rtt-client: no answer\n"); return 1; }
      } else if (errno != EINTR && errno != ECONNREFUSED) {
        perror("recv");
        return 1;
      }
    }
  }
  double dt = now() - t0;
  send(s, buf, 0, 0); /* stop the server */
  printf("%.0f\n", n / dt);
  return 0;
}

/* An echo server until a datagram of 0 bytes: blocking recvfrom, or poll()
 * then recvfrom until EAGAIN, echoing each datagram drained. */
static int rtt_server(const char *portfile, int nonblocking) {
  struct sockaddr_in a;
  int s = udp_loopback(&a, nonblocking);
  if (s < 0) { perror("rtt-server"); return 1; }
  if (write_port(portfile, &a) < 0) { perror(portfile); return 1; }
  struct pollfd p = {s, POLLIN, 0};
  char buf[2048];
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (poll(&p, 1, 30000) == 0) { fprintf(stderr, "rtt-server: idle for 30 s\n"); return 1; }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? 0 : (perror("recvfrom"), 1);
    sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  if (!strcmp(argv[1], "fdpass")) {
    int rounds = atoi(argv[2]), batch = argc > 3 ? atoi(argv[3]) : 100;
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int fd = open("/dev/null", O_RDONLY);
    long n = 0;
    double t0 = now();
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < batch; i++) send_fd(sv[0], fd);
      for (int i = 0; i < batch; i++) {
        int got = recv_fd(sv[1]);
        if (got >= 0) { close(got); n++; }
      }
    }
    printf("%.0f\n", n / (now() - t0));
    return 0;
  }
  if (!strcmp(argv[1], "unix-writer")) return unix_writer(argv[2]);
  if (!strcmp(argv[1], "unix-reader-poll") && argc > 3) return unix_reader(argv[2], atof(argv[3]), 1);
  if (!strcmp(argv[1], "unix-reader") && argc > 3) return unix_reader(argv[2], atof(argv[3]), 0);
  if (!strcmp(argv[1], "rtt-server")) return rtt_server(argv[2], 0);
  if (!strcmp(argv[1], "rtt-server-poll")) return rtt_server(argv[2], 1);
  if (!strcmp(argv[1], "rtt-client") && argc > 3) return rtt_client(atoi(argv[2]), atol(argv[3]), 0);
  if (!strcmp(argv[1], "rtt-client-poll") && argc > 3) return rtt_client(atoi(argv[2]), atol(argv[3]), 1);
  return 2;
}
