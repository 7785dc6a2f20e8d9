// Flood sender for the capture-ring benchmark (bench/run.mjs, "capture"):
// 64-byte Ethernet frames of ethertype 0x88b5 (IEEE local experimental) sent
// on IFACE through a packet socket, in sendmmsg batches of 64, for SECONDS.
//   ring-send IFACE SECONDS   -> prints frames sent
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
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

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  int ifindex = (int)if_nametoindex(argv[1]);
  double seconds = atof(argv[2]);
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0 || ifindex == 0) { perror("socket"); return 1; }
#ifdef PACKET_QDISC_BYPASS
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
#endif
  struct sockaddr_ll to = {0};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(0x88b5);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  memset(to.sll_addr, 0xff, 6);
  unsigned char frame[64] = {0};
  memset(frame, 0xff, 6);
  memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
  frame[12] = 0x88, frame[13] = 0xb5;
  enum { B = 64 };
  struct mmsghdr msgs[B];
  struct iovec iov[B];
  for (int i = 0; i < B; i++) {
    iov[i].iov_base = frame;
    iov[i].iov_len = sizeof(frame);
    memset(&msgs[i], 0, sizeof(msgs[i]));
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof(to);
  }
  long sent = 0;
  double end = now() + seconds;
  for (unsigned iter = 0;; iter++) {
    int n = sendmmsg(fd, msgs, B, 0);
    if (n > 0) sent += n;
    if ((iter & 15) == 0 && now() >= end) break;
  }
  printf("%ld\n", sent);
  return 0;
}
