// Classic BPF programs as socket option values (SO_ATTACH_FILTER,
// SO_ATTACH_REUSEPORT_CBPF, PACKET_FANOUT_DATA for PACKET_FANOUT_CBPF, and
// SO_GET_FILTER). The kernel takes these as a `struct sock_fprog` that
// points at the instructions; a pointer never comes from JavaScript: the
// caller gives the instructions' bytes (8 per `struct sock_filter`) and the
// struct is built here, over a copy, for the one syscall.
//
// Linux only (the BSDs attach programs to /dev/bpf with BIOCSETF instead):
// everything is behind feature tests; elsewhere no option is a filter option.
#ifndef KSOCK_FILTER_H
#define KSOCK_FILTER_H

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#if defined(SO_ATTACH_FILTER) && __has_include(<linux/filter.h>)
#define KSOCK_HAVE_SOCK_FPROG 1
#endif

namespace ksock {
namespace filter {

// One struct sock_filter, and BPF_MAXINSNS.
constexpr size_t kInsnSize = 8;
constexpr size_t kMaxInsns = 4096;

// Whether a set of (level, name) with `len` bytes carries a program, to be
// passed as a sock_fprog built here.
bool IsAttach(int level, int name, size_t len);

// Whether a get of (level, name) is SO_GET_FILTER (its length counts
// instructions, not bytes).
bool IsGet(int level, int name);

// setsockopt(fd, level, name, &fprog) over a copy of p[0, len); len is a
// multiple of kInsnSize, 1..kMaxInsns instructions (checked by the caller).
// 0 or -errno.
long Attach(int fd, int level, int name, const uint8_t* p, size_t len);

// SO_GET_FILTER: copies the attached program's first whole instructions that
// fit into out[0, cap) and returns its full size in bytes (0: none attached;
// more than cap: truncated). -errno on failure.
long Get(int fd, int level, int name, uint8_t* out, size_t cap);

}  // namespace filter
}  // namespace ksock

#endif  // KSOCK_FILTER_H
