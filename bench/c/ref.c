/* More C references for bench/run.mjs.
 *   ref fdpass ROUNDS BATCH       SCM_RIGHTS over an AF_UNIX datagram socketpair, one process:
 *                                 BATCH sends of 1 fd, then BATCH receives (each fd closed); prints msgs/s
 *   ref unix-stream SECONDS       AF_UNIX stream socketpair, a forked writer of 64 KiB chunks; prints bytes/s
 *   ref rtt-server PORTFILE       UDP echo server (blocking), until a datagram of 0 bytes
 *   ref rtt-client PORT N         N UDP round trips of 64 bytes (blocking); prints round trips/s
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

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
  if (!strcmp(argv[1], "unix-stream")) {
    double secs = atof(argv[2]);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    static char buf[65536];
    pid_t pid = fork();
    if (pid == 0) {
      close(sv[1]);
      signal(SIGPIPE, SIG_IGN);
      for (;;) if (write(sv[0], buf, sizeof buf) < 0) _exit(0);
    }
    close(sv[0]);
    long long bytes = 0;
    ssize_t n = read(sv[1], buf, sizeof buf);  /* the writer is running */
    double t0 = now(), end = t0 + secs;
    while (now() < end && (n = read(sv[1], buf, sizeof buf)) > 0) bytes += n;
    double dt = now() - t0;
    close(sv[1]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("%.0f\n", bytes / dt);
    return 0;
  }
  if (!strcmp(argv[1], "rtt-server")) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    FILE *f = fopen(argv[2], "w");
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    char buf[2048];
    for (;;) {
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
      if (n <= 0) return 0;
      sendto(s, buf, n, 0, (struct sockaddr *)&from, fl);
    }
  }
  if (!strcmp(argv[1], "rtt-client")) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(atoi(argv[2]));
    connect(s, (struct sockaddr *)&to, sizeof to);
    long n = atol(argv[3]);
    char buf[64] = {0};
    double t0 = now();
    for (long i = 0; i < n; i++) {
      send(s, buf, sizeof buf, 0);
      recv(s, buf, sizeof buf, 0);
    }
    double dt = now() - t0;
    send(s, buf, 0, 0); /* stop the server */
    printf("%.0f\n", n / dt);
    return 0;
  }
  return 2;
}
