// Every route of every table, IPv4 and IPv6, printed as `ip route show table
// all` prints it (Linux): no bytes packed, one dump through RouteNetlink.
// Run: node examples/netlink-routes.mjs [-4|-6]
import { RouteNetlink, constants as c } from 'ksock';

if (c.AF_NETLINK === undefined) {
  console.log('no netlink on this platform');
  process.exit(0);
}
const family = process.argv[2] === '-4' ? 'inet' : process.argv[2] === '-6' ? 'inet6' : undefined;

const rt = RouteNetlink.open();
const routes = await rt.routes(family ? { family } : {});   // RTM_GETROUTE dump, every table
await rt.close();
for (const r of routes) {
  // The fields ip leaves out when they are the usual ones: unicast, table main, proto boot, scope global.
  const words = [
    r.type !== 'unicast' && r.type, r.dst,
    r.gateway && `via ${r.gateway}`, r.dev && `dev ${r.dev}`,
    r.table !== 'main' && `table ${r.table}`, r.protocol !== 'boot' && `proto ${r.protocol}`,
    r.scope !== 'global' && `scope ${r.scope}`, r.prefsrc && `src ${r.prefsrc}`,
    r.metric !== undefined && `metric ${r.metric}`, ...r.flags, r.pref && `pref ${r.pref}`,
  ];
  console.log(words.filter(Boolean).join(' '));
}
