// The C reference of the capture-ring benchmark (bench/run.mjs, "capture"):
// a TPACKET_V3 ring on IFACE for ethertype 0x88b5, read the way libpcap and
// the kernel's own example (Documentation/networking/packet_mmap.rst) do:
// poll, walk the block's frames by tp_next_offset reading each tp_len, give
// the block back. Counts frames for SECONDS from the first one.
//   ring-read IFACE READYFILE SECONDS BLOCKSIZE BLOCKCOUNT FRAMESIZE TIMEOUT -> prints frames/s
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 8) return 2;
  const char* ready = argv[2];
  double seconds = atof(argv[3]);
  struct tpacket_req3 req = {0};
  req.tp_block_size = (unsigned)atoi(argv[4]);
  req.tp_block_nr = (unsigned)atoi(argv[5]);
  req.tp_frame_size = (unsigned)atoi(argv[6]);
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
  req.tp_retire_blk_tov = (unsigned)atoi(argv[7]);
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  int v = TPACKET_V3;
  struct sockaddr_ll ll = {0};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(0x88b5);
  ll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (fd < 0 || bind(fd, (struct sockaddr*)&ll, sizeof(ll)) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
    perror("ring");
    return 1;
  }
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  unsigned char* map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) { perror("mmap"); return 1; }
  FILE* f = fopen(ready, "w");
  if (f) fclose(f);
  struct pollfd pfd = {fd, POLLIN | POLLERR, 0};
  unsigned cur = 0;
  long frames = 0;
  unsigned long long bytes = 0;
  double t0 = 0, end = 0, deadline = now() + 30;
  for (;;) {
    struct tpacket_block_desc* bd = (struct tpacket_block_desc*)(map + (size_t)cur * req.tp_block_size);
    if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
      double t = now();
      if ((t0 != 0 && t >= end) || t >= deadline) break;
      poll(&pfd, 1, 10);
      continue;
    }
    if (t0 == 0) t0 = now(), end = t0 + seconds;
    struct tpacket3_hdr* h = (struct tpacket3_hdr*)((unsigned char*)bd + bd->hdr.bh1.offset_to_first_pkt);
    for (unsigned i = 0; i < bd->hdr.bh1.num_pkts; i++) {
      bytes += h->tp_len;
      frames++;
      h = (struct tpacket3_hdr*)((unsigned char*)h + h->tp_next_offset);
    }
    __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur = (cur + 1) % req.tp_block_nr;
    if (now() >= end) break;
  }
  double el = now() - t0;
  printf("%ld %llu\n", el > 0 ? (long)(frames / el) : 0, bytes);
  return 0;
}
