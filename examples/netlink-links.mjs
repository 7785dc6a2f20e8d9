// A netlink RTM_GETLINK dump: the network interfaces, with their names, as
// `ip link` lists them (Linux). Run: node examples/netlink-links.mjs
import { Socket, SOCK_RAW, constants as c } from 'ksock';

if (c.AF_NETLINK === undefined) {
  console.log('no netlink on this platform');
  process.exit(0);
}
const nl = Socket.create(c.AF_NETLINK, SOCK_RAW, c.NETLINK_ROUTE);
const req = Buffer.alloc(32);
req.writeUInt32LE(32, 0);                                 // nlmsghdr.nlmsg_len
req.writeUInt16LE(c.RTM_GETLINK, 4);                      // nlmsg_type
req.writeUInt16LE(c.NLM_F_REQUEST | c.NLM_F_DUMP, 6);     // nlmsg_flags
req.writeUInt32LE(1, 8);                                  // nlmsg_seq; then an ifinfomsg of zeros
await nl.sendmsg({ data: req, to: { family: c.AF_NETLINK, pid: 0, groups: 0 } });

const IFLA_IFNAME = 3;
for (let done = false; !done;) {
  const m = await nl.recvmsg({ size: 65536, timeout: 2000 });
  for (let off = 0; off + 16 <= m.bytes;) {
    const len = m.data.readUInt32LE(off), type = m.data.readUInt16LE(off + 4);
    if (type === c.NLMSG_DONE) done = true;
    if (type === c.RTM_NEWLINK) {
      const index = m.data.readInt32LE(off + 20), flags = m.data.readUInt32LE(off + 24);
      let name = '?';
      for (let a = off + 32; a + 4 <= off + len;) {               // rtattr list after the ifinfomsg
        const alen = m.data.readUInt16LE(a), atype = m.data.readUInt16LE(a + 2);
        if (alen < 4) break;
        if (atype === IFLA_IFNAME) name = m.data.toString('utf8', a + 4, a + alen - 1);
        a += (alen + 3) & ~3;
      }
      console.log(`${index}: ${name} ${flags & 1 ? 'UP' : 'DOWN'}`);
    }
    off += (len + 3) & ~3;
  }
}
await nl.close();
