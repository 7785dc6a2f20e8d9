// Network namespaces (Linux, needs CAP_SYS_ADMIN): a named namespace made as
// `ip netns add` makes it, its loopback brought up by a netlink request sent
// from inside it, a UDP exchange there, a sysctl of its own, and the
// namespace removed again. This thread never leaves its own namespace.
// Run: sudo node examples/netns.mjs
import { netns, Socket, SocketError, constants as c } from 'ksock';
import { readFileSync } from 'node:fs';

if (!netns.supported) {
  console.log('no network namespaces on this platform');
  process.exit(0);
}
const name = `ksock-example-${process.pid}`;
try {
  netns.add(name);                                          // ip netns add NAME
} catch (e) {
  if (!(e instanceof SocketError) || (e.code !== 'EPERM' && e.code !== 'EACCES')) throw e;
  console.log(`netns.add: ${e.message}: this example needs CAP_SYS_ADMIN (run it as root)`);
  process.exit(0);
}
try {
  console.log(`added ${name}, listed as \`ip netns list\` lists it: ${netns.list().includes(name)}`);

  // A netlink session inside the namespace: RTM_NEWLINK on ifindex 1 (lo) with IFF_UP, acknowledged.
  const IFF_UP = 0x1;                                       // <net/if.h>
  const nl = netns.socket(name, 'AF_NETLINK', 'SOCK_RAW', 'NETLINK_ROUTE');
  const req = Buffer.alloc(32);                             // nlmsghdr, then an ifinfomsg
  req.writeUInt32LE(32, 0);
  req.writeUInt16LE(c.RTM_NEWLINK, 4);
  req.writeUInt16LE(c.NLM_F_REQUEST | c.NLM_F_ACK, 6);
  req.writeUInt32LE(1, 8);                                  // nlmsg_seq
  req.writeInt32LE(1, 20);                                  // ifi_index: lo
  req.writeUInt32LE(IFF_UP, 24);                            // ifi_flags
  req.writeUInt32LE(IFF_UP, 28);                            // ifi_change
  await nl.sendmsg({ data: req, to: { family: c.AF_NETLINK, pid: 0, groups: 0 } });
  const ack = await nl.recvmsg({ size: 4096, timeout: 2000 });
  const type = ack.data.readUInt16LE(4), error = ack.data.readInt32LE(16);
  console.log(`lo up inside the namespace: ${type === c.NLMSG_ERROR && error === 0 ? 'acknowledged' : `error ${-error}`}`);
  await nl.close();

  // Two UDP sockets on the namespace's own loopback (one by netns.socket, one by Socket.create).
  const a = netns.socket(name, 'AF_INET', 'SOCK_DGRAM').bind({ family: c.AF_INET, address: '127.0.0.1', port: 0 });
  const b = Socket.create('AF_INET', 'SOCK_DGRAM', 0, { netns: { path: `/run/netns/${name}` } });
  await b.sendmsg({ data: Buffer.from('hello from inside'), to: a.address() });
  const m = await a.recvmsg({ timeout: 2000 });
  console.log(`received "${m.data}" on 127.0.0.1:${a.address().port} in ${name}`);
  await a.close();
  await b.close();

  // Its own sysctls and /proc/net: the host keeps its own.
  netns.sysctl(name, 'net.ipv4.ip_forward', 1);
  console.log(`ip_forward: ${netns.sysctl(name, 'net.ipv4.ip_forward')} inside, ${readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()} in the host`);
  const ifaces = netns.readFile(name, '/proc/thread-self/net/dev').toString().split('\n').slice(2).filter(Boolean).map((l) => l.split(':')[0].trim());
  console.log(`interfaces inside: ${ifaces.join(' ')}`);
} finally {
  netns.delete(name);                                       // ip netns delete NAME
  console.log(`deleted ${name}: ${netns.exists(name) ? 'still there' : 'gone'}`);
}
