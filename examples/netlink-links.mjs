// The network interfaces, as `ip link` lists them (Linux): one rtnetlink
// dump through RouteNetlink, whose objects carry ip -j's field names.
// Run: node examples/netlink-links.mjs
import { RouteNetlink, constants as c } from 'ksock';

if (c.AF_NETLINK === undefined) {
  console.log('no netlink on this platform');
  process.exit(0);
}
const rt = RouteNetlink.open();                             // NETLINK_ROUTE
try {
  for (const l of await rt.links()) {                       // RTM_GETLINK, NLM_F_DUMP, to NLMSG_DONE
    const peer = l.link ? `@${l.link}` : '';
    console.log(`${l.ifindex}: ${l.ifname}${peer} ${l.flags.includes('UP') ? 'UP' : 'DOWN'} mtu ${l.mtu} state ${l.operstate} link/${l.link_type} ${l.address ?? ''}`.trimEnd());
  }
} finally {
  await rt.close();
}
