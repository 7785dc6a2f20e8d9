// Classic BPF programs as socket option values (see filter.h).
#include "filter.h"

#include <errno.h>

#include <cstring>
#include <vector>

#include "sys.h"

#ifdef KSOCK_HAVE_SOCK_FPROG
#include <linux/filter.h>
#endif
#if __has_include(<linux/if_packet.h>)
#include <linux/if_packet.h>
#endif

namespace ksock {
namespace filter {

#ifdef KSOCK_HAVE_SOCK_FPROG
static_assert(sizeof(sock_filter) == kInsnSize, "struct sock_filter is 8 bytes");

bool IsAttach(int level, int name, size_t len) {
  if (level == SOL_SOCKET) {
    if (name == SO_ATTACH_FILTER) return true;
#ifdef SO_ATTACH_REUSEPORT_CBPF
    if (name == SO_ATTACH_REUSEPORT_CBPF) return true;
#endif
  }
#if defined(SOL_PACKET) && defined(PACKET_FANOUT_DATA)
  // PACKET_FANOUT_CBPF takes a sock_fprog, PACKET_FANOUT_EBPF a 4-byte
  // descriptor: whole instructions are a program.
  if (level == SOL_PACKET && name == PACKET_FANOUT_DATA && len > 0 && len % kInsnSize == 0) return true;
#endif
  (void)len;
  return false;
}

bool IsGet(int level, int name) {
#ifdef SO_GET_FILTER
  return level == SOL_SOCKET && name == SO_GET_FILTER;
#else
  return level == SOL_SOCKET && name == SO_ATTACH_FILTER;
#endif
}

long Attach(int fd, int level, int name, const uint8_t* p, size_t len) {
  const size_t n = len / kInsnSize;
  if (len % kInsnSize != 0 || n == 0 || n > kMaxInsns) return -EINVAL;
  std::vector<sock_filter> prog(n);  // aligned, and ours for the call
  memcpy(prog.data(), p, len);
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(n);
  fprog.filter = prog.data();
  if (setsockopt(fd, level, name, &fprog, sizeof(fprog)) < 0) return sys::Err();
  return 0;
}

long Get(int fd, int level, int name, uint8_t* out, size_t cap) {
  // A length of 0 asks for the number of instructions.
  socklen_t count = 0;
  if (getsockopt(fd, level, name, nullptr, &count) < 0) return sys::Err();
  if (count == 0) return 0;
  if (count > kMaxInsns) return -EINVAL;
  std::vector<sock_filter> prog(count);
  socklen_t got = count;  // in instructions, for this option
  if (getsockopt(fd, level, name, prog.data(), &got) < 0) return sys::Err();
  if (got > count) return -EINVAL;  // replaced by a longer one in between
  const size_t bytes = static_cast<size_t>(got) * kInsnSize;
  const size_t fit = cap - cap % kInsnSize;  // whole instructions only, as many as fit
  if (out != nullptr) memcpy(out, prog.data(), bytes < fit ? bytes : fit);
  return static_cast<long>(bytes);
}

#else  // no sock_fprog here

bool IsAttach(int, int, size_t) { return false; }
bool IsGet(int, int) { return false; }
long Attach(int, int, int, const uint8_t*, size_t) { return -EINVAL; }
long Get(int, int, int, uint8_t*, size_t) { return -EINVAL; }

#endif

}  // namespace filter
}  // namespace ksock
