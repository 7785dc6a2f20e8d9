// Compiled by test/types.test.ts with `tsc --noEmit` against the published
// declarations (dist/index.d.ts): the lines marked @ts-expect-error must not
// compile, everything else must. Never run.
import {
  Socket, SCM_RIGHTS, IP_PKTINFO, AF_INET, SOCK_DGRAM, type TcpInfo, type Linger, type Msg, type Sockaddr,
} from '../../dist/index';

declare const s: Socket;

// Options, typed per (level, name).
s.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1 << 20);
s.setsockopt('SOL_SOCKET', 'SO_REUSEADDR', true);
s.setsockopt('SOL_SOCKET', 'SO_LINGER', { onoff: 1, linger: 2 });
s.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 250);
s.setsockopt('IPPROTO_IP', 'IP_ADD_MEMBERSHIP', { multiaddr: '239.1.2.3', interface: '127.0.0.1' });
s.setsockopt(1, 2, Buffer.alloc(4)); // numbers: a raw option
s.setsockopt('SOL_PACKET', 'PACKET_AUXDATA', Buffer.alloc(4)); // outside the table: raw
const info: TcpInfo = s.getsockopt('IPPROTO_TCP', 'TCP_INFO');
const rcvbuf: number = s.getsockopt('SOL_SOCKET', 'SO_RCVBUF');
const reuse: boolean = s.getsockopt('SOL_SOCKET', 'SO_REUSEADDR');
const linger: Linger = s.getsockopt('SOL_SOCKET', 'SO_LINGER');
// @ts-expect-error SO_RCVBUF is not an option of IPPROTO_IP
s.setsockopt('IPPROTO_IP', 'SO_RCVBUF', 1);
// @ts-expect-error SO_RCVBUF takes a number
s.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 'big');
// @ts-expect-error SO_TYPE is read-only
s.setsockopt('SOL_SOCKET', 'SO_TYPE', 1);
// @ts-expect-error a membership cannot be read back
s.getsockopt('IPPROTO_IP', 'IP_ADD_MEMBERSHIP');
// @ts-expect-error TCP_INFO is not a number
const wrong: number = s.getsockopt('IPPROTO_TCP', 'TCP_INFO');

// Constants are named exports.
const rights: number = SCM_RIGHTS + IP_PKTINFO;

// Addresses typed per family.
const to: Sockaddr = { family: AF_INET, address: '127.0.0.1', port: 9 };
// @ts-expect-error a destination without a port
const noPort: Sockaddr = { family: AF_INET, address: '127.0.0.1' };
// @ts-expect-error a port belongs to an inet address, not to a path
const mixed: Sockaddr = { family: 1, path: '/tmp/x', port: 9 };

// Names where numbers are; flags as names.
const u = Socket.create('AF_INET', 'SOCK_DGRAM');
const v = Socket.create(AF_INET, SOCK_DGRAM);
async function use(): Promise<Msg> {
  await u.sendmsg({ data: Buffer.from('x'), to, flags: ['MSG_DONTWAIT'] });
  return v.recvmsg({ flags: 'MSG_PEEK', timeout: 10 });
}

// Internals are not published.
// @ts-expect-error _sleep is internal
s._sleep;
// @ts-expect-error _h is internal
s._h;

export { info, rcvbuf, reuse, linger, wrong, rights, noPort, mixed, use };

// Received control items are a union discriminated by `name`.
async function items(): Promise<void> {
  const m = await v.recvmsg({ control: true });
  for (const item of m.control) {
    if (item.name === 'IP_PKTINFO') {
      const addr: string = item.addr;
      void addr;
    } else if (item.name === 'SCM_RIGHTS') {
      const fds: number[] = item.fds;
      void fds;
    } else if (item.name === 'IP_RECVERR') {
      const data: Buffer = item.data; // the payload stays a Buffer
      const key: number = item.eeData;
      void data;
      void key;
    }
    // @ts-expect-error IP_TTL items have no addr
    if (item.name === 'IP_TTL') void item.addr.length;
  }
}
export { items };
