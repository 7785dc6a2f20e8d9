// Links as they change, like `ip monitor link` (Linux): RouteNetlink.monitor
// joins RTNLGRP_LINK and yields each change, decoded. Stops after COUNT
// changes or SECONDS, whichever comes first; NETNS watches a named network
// namespace instead of this one (needs CAP_SYS_ADMIN).
// Run: node examples/netlink-monitor.mjs [COUNT=5] [SECONDS=30] [NETNS]
//      and, elsewhere: ip link add va type veth peer name vb; ip link del va
import { RouteNetlink, constants as c } from 'ksock';

if (c.AF_NETLINK === undefined) {
  console.log('no netlink on this platform');
  process.exit(0);
}
const count = Number(process.argv[2] ?? 5), seconds = Number(process.argv[3] ?? 30), netns = process.argv[4];
const where = netns === undefined ? {} : { netns };

// What is there now, so that a change can say "new" or "changed".
const known = new Set();
const rt = RouteNetlink.open(where);
for (const l of await rt.links()) known.add(l.ifindex);
await rt.close();
console.log(`watching ${known.size} links${netns ? ` in ${netns}` : ''} for ${count} changes or ${seconds} s`);

let seen = 0;
const signal = AbortSignal.timeout(seconds * 1000);
try {
  for await (const ev of RouteNetlink.monitor(['link'], { ...where, signal })) {
    const l = ev.link;
    const what = ev.deleted ? 'deleted' : known.has(l.ifindex) ? 'changed' : 'new';
    if (ev.deleted) known.delete(l.ifindex);
    else known.add(l.ifindex);
    console.log(`${what} ${l.ifindex}: ${l.ifname}${l.link ? `@${l.link}` : ''} <${l.flags.join(',')}> mtu ${l.mtu} state ${l.operstate}`);
    if (++seen === count) break;                            // leaving the loop closes the monitor's socket
  }
} catch (e) {
  if (!signal.aborted) throw e;                             // the timeout ends the loop with an AbortError
}
console.log(seen === count ? `${seen} changes` : `${seconds} s passed: ${seen} changes`);
