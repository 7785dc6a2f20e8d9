// The kernel face: socket(9) with the names, argument order and errno returns
// of the man pages (OpenBSD socreate(9), FreeBSD socket(9)), with the BUGS
// sections fixed:
//   - a failed soconnect clears SS_ISCONNECTING itself and sets so_error;
//   - MSG_DONTWAIT works for sosend as well as soreceive;
//   - upcalls are implemented;
//   - soclose is idempotent and can never touch a reused descriptor number.
//
// Every function returns 0 or a positive errno and never throws for an OS
// failure; wrong argument types throw TypeError/RangeError before any
// syscall. sosend/soreceive/soaccept sleep (return a Promise of the errno)
// unless MSG_DONTWAIT is in the flags or the socket has SS_NBIO: then the
// errno comes back synchronously, EWOULDBLOCK where the call would block.
import { socketProtocol } from '../packet';
import { native, type Cmsg, type Holder, type Sockaddr, type SockaddrOut } from '../native';
import {
  AF_UNIX, AF_UNSPEC, EBADF, EINVAL, EISCONN, EOPNOTSUPP, EPIPE, EWOULDBLOCK, EALREADY, EINPROGRESS, ECONNABORTED,
  MSG_DONTWAIT, MSG_NBIO, MSG_EOR, MSG_PEEK, MSG_WAITALL, MSG_OOB, SOCK_STREAM, SOCK_SEQPACKET, SOCK_NONBLOCK,
  SOCK_CLOEXEC, SHUT_RD, SHUT_WR, SHUT_RDWR, SS_NOFDREF, SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTING,
  SS_CANTSENDMORE, SS_CANTRCVMORE, SS_ISBOUND, SS_NBIO, SO_OPTIONS, SO_RCV, SO_SND, UIO_WRITE, EAGAIN,
} from '../constants';
import {
  AGAIN, Socket, type Upcall, ioFailed, soisconnected, soisconnecting, socantrcvmore, socantsendmore,
} from '../core/socket';
import { Uio } from '../core/uio';
import { checkAddr, checkHolder, checkInt, checkSocket, isBufferList } from '../core/checks';
import {
  accept, send, receive, CONTROL_SPACE_DEFAULT, MP0_DEFAULT, type ControlHolder, type Mp0Holder,
} from '../core/ops';

export { CONTROL_SPACE_DEFAULT, MP0_DEFAULT, type ControlHolder, type Mp0Holder };

const slots = native.slots;
const MSG_FLAGS = native.slotNames.MSG_FLAGS;
const NEG_EAGAIN = -EAGAIN;
const NEG_EINPROGRESS = -EINPROGRESS;
/** Flags that only steer ksock (sleep or not) and never reach the host. */
const POLICY_FLAGS = MSG_NBIO;

// ---------------------------------------------------------------- checks

function nowait(so: Socket, flags: number): boolean {
  return (flags & (MSG_DONTWAIT | MSG_NBIO)) !== 0 || (so.so_state & SS_NBIO) !== 0;
}

function isStream(so: Socket): boolean {
  return so.so_type === SOCK_STREAM;
}

function connectionOriented(so: Socket): boolean {
  return so.so_type === SOCK_STREAM || so.so_type === SOCK_SEQPACKET;
}

// ---------------------------------------------------------------- creation

/**
 * Creates a socket: `aso.value` = the new Socket. SOCK_NONBLOCK in `type`
 * sets SS_NBIO (operations return EWOULDBLOCK instead of sleeping);
 * SOCK_CLOEXEC is accepted (every descriptor is close-on-exec anyway).
 * Trailing credential/thread arguments of the BSD signatures are accepted and
 * ignored: userland has one credential, the process's. For AF_PACKET, `proto`
 * is an ethertype in host byte order (ETH_P_ALL, ETH_P_IP …), converted for
 * the kernel as the address codec converts `protocol` (lib/packet.ts).
 * @see socreate(9)
 */
export function socreate(dom: number, aso: Holder<Socket | null>, type: number, proto: number, ..._cred: unknown[]): number {
  checkInt(dom, 'socreate', 'dom');
  checkInt(type, 'socreate', 'type');
  checkInt(proto, 'socreate', 'proto');
  if (typeof aso !== 'object' || aso === null) throw new TypeError('socreate: aso must be a { value } holder');
  const base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  // AF_PACKET: the ethertype is given in host order and converted (lib/packet.ts).
  const h = native.socket(dom, base, socketProtocol(dom, proto, 'socreate'));
  if (typeof h === 'number') return -h;
  aso.value = new Socket(dom, base, proto, h, SOCK_NONBLOCK !== 0 && (type & SOCK_NONBLOCK) ? SS_NBIO : 0);
  return 0;
}

/**
 * Binds a local address; sets SS_ISBOUND.
 * @see sobind(9)
 */
export function sobind(so: Socket, nam: Sockaddr, ..._td: unknown[]): number {
  checkSocket(so, 'sobind');
  checkAddr(nam, 'sobind');
  if (so.so_state & SS_NOFDREF) return EBADF;
  const r = native.bind(so._h, nam);
  if (r < 0) return -r;
  so.so_state |= SS_ISBOUND;
  return 0;
}

/**
 * Starts a connection and returns at once. `0` with SS_ISCONNECTING set
 * while the connect is in progress (EINPROGRESS is absorbed); completion
 * sets SS_ISCONNECTED, or `so_error` (and clears SS_ISCONNECTING), and wakes
 * `so_timeo`. Any failure clears SS_ISCONNECTING (the man page's BUGS).
 * EALREADY while a connect is in progress. On a datagram socket,
 * `{ family: AF_UNSPEC }` dissolves the association (the kernel's
 * "connect to a null address").
 * @see soconnect(9)
 */
export function soconnect(so: Socket, nam: Sockaddr, ..._td: unknown[]): number {
  checkSocket(so, 'soconnect');
  checkAddr(nam, 'soconnect');
  if (so.so_state & SS_NOFDREF) return EBADF;
  if (so.so_state & SS_ISCONNECTING) return EALREADY;
  if ((so.so_state & SS_ISCONNECTED) && connectionOriented(so)) return EISCONN;
  so.so_error = 0; // "prevent accumulated error from previous connection"
  const r = native.connect(so._h, nam);
  if (r === 0 && !Buffer.isBuffer(nam) && nam.family === AF_UNSPEC) {
    // Connecting to AF_UNSPEC dissolves a datagram socket's association.
    so.so_state &= ~(SS_ISCONNECTED | SS_ISCONNECTING);
    return 0;
  }
  if (r === 0) {
    soisconnected(so);
    return 0;
  }
  if (r === NEG_EINPROGRESS) {
    soisconnecting(so);
    return 0;
  }
  so.so_state &= ~SS_ISCONNECTING;
  // Linux: a nonblocking AF_UNIX connect to a full backlog says EAGAIN.
  return r === NEG_EAGAIN ? EWOULDBLOCK : -r;
}

/**
 * Connects two unconnected local sockets to each other (socketpair
 * semantics). Both must be unbound, unconnected AF_UNIX sockets of one type;
 * their descriptor numbers are kept.
 * @see soconnect2(9)
 */
export function soconnect2(so1: Socket, so2: Socket): number {
  checkSocket(so1, 'soconnect2');
  checkSocket(so2, 'soconnect2');
  if ((so1.so_state | so2.so_state) & SS_NOFDREF) return EBADF;
  if (so1 === so2) return EINVAL;
  if (so1.so_dom !== AF_UNIX || so2.so_dom !== AF_UNIX) return EOPNOTSUPP;
  if (so1.so_type !== so2.so_type) return EINVAL;
  if ((so1.so_state | so2.so_state) & (SS_ISCONNECTED | SS_ISCONNECTING)) return EISCONN;
  if ((so1.so_state | so2.so_state) & SS_ISBOUND) return EINVAL;
  const e = native.connect2(so1._h, so2._h);
  so1._watcherGone(); // the numbers now name other files: their watchers were closed
  so2._watcherGone();
  so1._rearm();
  so2._rearm();
  if (e < 0) return -e;
  soisconnected(so1);
  soisconnected(so2);
  return 0;
}

/**
 * Starts listening. EINVAL when connected or connecting (the BSD check, made
 * before the host's). Sets SO_ACCEPTCONN in `so_options`.
 * @see solisten(9)
 */
export function solisten(so: Socket, backlog: number, ..._td: unknown[]): number {
  checkSocket(so, 'solisten');
  checkInt(backlog, 'solisten', 'backlog');
  if (so.so_state & SS_NOFDREF) return EBADF;
  if (so.so_state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) return EINVAL;
  const r = native.listen(so._h, backlog);
  if (r < 0) return -r;
  so.so_options |= SO_OPTIONS.SO_ACCEPTCONN;
  so.so_state |= SS_ISBOUND;
  return 0;
}

/**
 * Takes the next completed connection of a listening socket: `aso.value` = a
 * new connected Socket, `nam.value` (when given) = the peer's address. Sleeps
 * for a connection unless SS_NBIO or `flags` has MSG_DONTWAIT (a ksock
 * extension); the listener's `so_error` is returned and cleared first.
 * @see soaccept(9)
 */
export function soaccept(so: Socket, aso: Holder<Socket | null>, nam?: Holder<SockaddrOut | null> | null,
  flags = 0): number | Promise<number> {
  checkSocket(so, 'soaccept');
  if (typeof aso !== 'object' || aso === null) throw new TypeError('soaccept: aso must be a { value } holder');
  checkHolder(nam, 'soaccept', 'nam');
  checkInt(flags, 'soaccept', 'flags');
  return accept(so, aso, nam, nowait(so, flags) ? null : { timeo: so.so_rcv.sb_timeo });
}

// ---------------------------------------------------------------- data

/**
 * Sends data (sendmsg(2)) from `uio` (a Uio; `uio_resid` drops by what was
 * sent) **or** `top` (a Buffer or Buffer chain, sent all-or-nothing) —
 * exactly one non-null. `control` is a list of `{level, type, data|fds}`
 * items, sent with the first byte. `addr` may be given for unconnected
 * sockets. Returns 0 or an errno: EPIPE after SS_CANTSENDMORE (never
 * SIGPIPE), a pending `so_error`, EWOULDBLOCK under MSG_DONTWAIT/SS_NBIO with
 * partial progress visible in `uio_resid` (a Buffer-chain `top` is trimmed of
 * what was sent).
 * @see sosend(9)
 */
export function sosend(so: Socket, addr: Sockaddr | null | undefined, uio: Uio | null | undefined,
  top: Buffer | Buffer[] | null | undefined, control: Cmsg[] | null | undefined, flags: number,
  ..._td: unknown[]): number | Promise<number> {
  checkSocket(so, 'sosend');
  if ((uio == null) === (top == null)) throw new TypeError('sosend: exactly one of uio and top must be non-null');
  if (uio != null && !(uio instanceof Uio)) throw new TypeError('sosend: uio must be a Uio');
  if (top != null && !Buffer.isBuffer(top) && !isBufferList(top, 'sosend')) {
    throw new TypeError('sosend: top must be a Buffer or an array of Buffers');
  }
  if (addr != null) checkAddr(addr, 'sosend');
  if (control != null && !Array.isArray(control)) throw new TypeError('sosend: control must be an array of cmsgs');
  checkInt(flags, 'sosend', 'flags');
  return send(so, addr, uio, top, control, flags, nowait(so, flags) ? null : { timeo: so.so_snd.sb_timeo });
}

/**
 * Receives data (recvmsg(2)) into `uio`'s Buffers **or**, with `mp0`, into a
 * fresh Buffer in `mp0.value` — then `uio`, if given, only supplies the count
 * in `uio_resid` (as the kernel code does; without it `mp0.size`, default
 * MP0_DEFAULT bytes). `paddr.value` = the source address; `controlp.value` = the control
 * items (`controlp.space` bytes of room, default 4096); `flagsp.value` holds
 * MSG_PEEK, MSG_WAITALL, MSG_OOB, MSG_DONTWAIT … on input and MSG_TRUNC,
 * MSG_CTRUNC, MSG_EOR, MSG_OOB on output; MSG_OOB never sleeps (its errno
 * comes back synchronously, as with MSG_DONTWAIT). Returns 0 (with `uio_resid`
 * lowered by what arrived; 0 bytes on a stream = EOF, SS_CANTRCVMORE) or an
 * errno. After our own shutdown(SHUT_RD) it returns EOF at once (BSD).
 * @see soreceive(9)
 */
export function soreceive(so: Socket, paddr: Holder<SockaddrOut | null> | null | undefined,
  uio: Uio | null | undefined, mp0: Mp0Holder | null | undefined,
  controlp: ControlHolder | null | undefined, flagsp: Holder<number> | null | undefined): number | Promise<number> {
  checkSocket(so, 'soreceive');
  if (uio == null && mp0 == null) throw new TypeError('soreceive: uio or mp0 must be non-null');
  if (uio != null && !(uio instanceof Uio)) throw new TypeError('soreceive: uio must be a Uio');
  checkHolder(paddr, 'soreceive', 'paddr');
  checkHolder(mp0, 'soreceive', 'mp0');
  checkHolder(controlp, 'soreceive', 'controlp');
  checkHolder(flagsp, 'soreceive', 'flagsp');
  const flags = flagsp ? flagsp.value : 0;
  checkInt(flags, 'soreceive', 'flagsp.value');
  let space = 0;
  if (controlp) {
    space = controlp.space ?? CONTROL_SPACE_DEFAULT;
    if (!Number.isInteger(space) || space < 0 || space > 1 << 20) throw new RangeError('soreceive: controlp.space is out of range');
  }
  return receive(so, paddr, uio, mp0, controlp, space, flags, flagsp, nowait(so, flags) ? null : { timeo: so.so_rcv.sb_timeo });
}

// ---------------------------------------------------------------- teardown

/**
 * Shuts down one or both directions: SHUT_RD sets SS_CANTRCVMORE (and later
 * receives return EOF, as on the BSDs), SHUT_WR sets SS_CANTSENDMORE.
 * EINVAL for any other `how`. Wakes `so_timeo` and the upcalls; on a
 * listener, SHUT_RD wakes accept sleepers with ECONNABORTED.
 * @see soshutdown(9)
 */
export function soshutdown(so: Socket, how: number): number {
  checkSocket(so, 'soshutdown');
  checkInt(how, 'soshutdown', 'how');
  if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) return EINVAL;
  if (so.so_state & SS_NOFDREF) return EBADF;
  const r = native.shutdown(so._h, how);
  if (r < 0) return -r;
  if (how !== SHUT_WR) {
    so._shutRd = true;
    socantrcvmore(so);
    so._drain(so.so_rcv);
  }
  if (how !== SHUT_RD) {
    socantsendmore(so);
    so._drain(so.so_snd);
  }
  so._rearm();
  return 0;
}

/**
 * Closes the socket: idempotent (a second call returns 0), sets SS_NOFDREF,
 * forgets the descriptor number before close(2) so that a closed Socket can
 * never touch a number the process has since reused, and wakes every
 * sleeper with EBADF. With SO_LINGER on and a linger time, the close lingers
 * on the threadpool (never blocking the event loop) and the result is a
 * Promise of the errno.
 * @see soclose(9)
 */
export function soclose(so: Socket, ..._flags: unknown[]): number | Promise<number> {
  checkSocket(so, 'soclose');
  return so._close();
}

// ---------------------------------------------------------------- upcalls

/**
 * Registers `fn(so, arg, waitflag)` to be called when the socket becomes
 * readable (SO_RCV) or writable (SO_SND) — and on every state change
 * (connect done, shutdown, close) — without blocking I/O. The upcall runs
 * from the event loop, never inside another so* call; calling soreceive /
 * sosend with MSG_DONTWAIT inside it is the expected use. A throwing upcall
 * is reported asynchronously and does not stop the socket.
 * @see soupcall_set(9)
 */
export function soupcall_set(so: Socket, which: number, fn: Upcall, arg?: unknown): void {
  checkSocket(so, 'soupcall_set');
  if (which !== SO_RCV && which !== SO_SND) throw new RangeError('soupcall_set: which must be SO_RCV or SO_SND');
  if (typeof fn !== 'function') throw new TypeError('soupcall_set: fn must be a function');
  const sb = which === SO_RCV ? so.so_rcv : so.so_snd;
  sb.sb_upcall = fn;
  sb.sb_upcallarg = arg;
  so._rearm();
}

/**
 * Removes the upcall of SO_RCV or SO_SND; idempotent.
 * @see soupcall_clear(9)
 */
export function soupcall_clear(so: Socket, which: number): void {
  checkSocket(so, 'soupcall_clear');
  if (which !== SO_RCV && which !== SO_SND) throw new RangeError('soupcall_clear: which must be SO_RCV or SO_SND');
  const sb = which === SO_RCV ? so.so_rcv : so.so_snd;
  sb.sb_upcall = null;
  sb.sb_upcallarg = undefined;
  so._rearm();
}

/**
 * Sets or clears SS_NBIO, the socket's "never sleep" policy (FIONBIO).
 * The descriptor itself is always O_NONBLOCK.
 * @see soioctl / FIONBIO
 */
export function sosetnbio(so: Socket, on: boolean): number {
  checkSocket(so, 'sosetnbio');
  if (so.so_state & SS_NOFDREF) return EBADF;
  if (on) so.so_state |= SS_NBIO;
  else so.so_state &= ~SS_NBIO;
  return 0;
}

// Re-exported so that a port of kernel code finds everything in one place.
export { Socket, Uio };
