// Feature-tested fallbacks for socket constants that older C library headers
// lack but the running kernel may support. Include after <sys/socket.h>.
//
// Linux: SO_PASSPIDFD/SO_PEERPIDFD (kernel 6.5) and SCM_PIDFD are missing from
// glibc < 2.39 (Debian 12 has 2.36). The SO_* numbers are per-architecture:
// they are only defined here where the headers use the asm-generic numbering,
// recognised by SO_PEERGROUPS having its asm-generic value 59 (alpha, mips,
// parisc and sparc number differently and are left alone). SCM_PIDFD is 0x04
// on every architecture (include/uapi/linux/socket.h), next to SCM_RIGHTS 0x01
// and SCM_CREDENTIALS 0x02.
#ifndef KSOCK_COMPAT_H
#define KSOCK_COMPAT_H

#include <sys/socket.h>

#if defined(SO_PEERGROUPS) && SO_PEERGROUPS == 59
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#endif

#if !defined(SCM_PIDFD) && defined(SO_PASSPIDFD) && defined(SCM_CREDENTIALS)
#define SCM_PIDFD 0x04
#endif

#endif  // KSOCK_COMPAT_H
