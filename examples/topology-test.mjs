// An integration test that needs a network of its own, in a few lines: three
// namespaces (client, router, server) joined by veth pairs, built by Topology
// before the tests and removed after them, even when one fails. node:test
// only; the same shape works in vitest or mocha. Needs root (CAP_SYS_ADMIN,
// CAP_NET_ADMIN); without it the tests are skipped, saying why.
// Run: sudo node examples/topology-test.mjs
//
//   client eth0 10.0.1.2/24 ---- 10.0.1.1/24 eth0 router eth1 10.0.2.1/24 ---- 10.0.2.2/24 eth0 server
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Topology, constants as c } from 'ksock';

const capEff = (() => {
  try { return BigInt('0x' + /CapEff:\s+([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]); } catch { return 0n; }
})();
const CAP_NET_ADMIN = 12n, CAP_SYS_ADMIN = 21n;
const root = ((capEff >> CAP_NET_ADMIN) & (capEff >> CAP_SYS_ADMIN) & 1n) === 1n && c.AF_NETLINK !== undefined;
const skip = root ? false : 'needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) on Linux';

let net;
before(async () => {
  if (skip) return;
  net = await Topology.create({
    hosts: { client: {}, router: { forwarding: true }, server: {} },
    links: [{ client: '10.0.1.2/24', router: '10.0.1.1/24' }, { router: '10.0.2.1/24', server: '10.0.2.2/24' }],
    routes: { client: [{ dst: 'default', gateway: '10.0.1.1' }], server: [{ dst: 'default', gateway: '10.0.2.1' }] },
  });
});
after(async () => { await net?.destroy(); });        // every namespace, and every veth with it

test('a datagram from the client reaches the server through the router, its source kept', { skip }, async () => {
  const srv = net.socket('server', 'AF_INET', 'SOCK_DGRAM').bind({ family: c.AF_INET, address: '10.0.2.2', port: 0 });
  const cli = net.socket('client', 'AF_INET', 'SOCK_DGRAM');
  try {
    await cli.sendmsg({ data: Buffer.from('ping'), to: srv.address() });
    const m = await srv.recvmsg({ timeout: 2000 });
    assert.equal(m.data.toString(), 'ping');
    assert.equal(m.from.address, '10.0.1.2');
  } finally {
    await cli.close();
    await srv.close();
  }
});

test('the client routes as the spec says (read back with rtnetlink inside its namespace)', { skip }, async () => {
  const rt = net.rtnl('client');
  try {
    const routes = await rt.routes({ family: 'inet', table: 'main' });
    assert.deepEqual(routes.map((r) => `${r.dst} ${r.gateway ?? '-'} ${r.dev}`).sort(),
      ['10.0.1.0/24 - eth0', 'default 10.0.1.1 eth0']);
  } finally {
    await rt.close();
  }
});

test('with TTL 1 the router answers: ICMP time exceeded, on the error queue', { skip }, async () => {
  const cli = net.socket('client', 'AF_INET', 'SOCK_DGRAM');
  try {
    cli.setsockopt('IPPROTO_IP', 'IP_RECVERR', true);
    cli.setsockopt('IPPROTO_IP', 'IP_TTL', 1);
    await cli.sendmsg({ data: Buffer.from('ttl 1'), to: { family: c.AF_INET, address: '10.0.2.2', port: 33434 } });
    let ee;
    for (let i = 0; i < 200 && !ee; i++) {                // at most 2 s
      const m = cli.tryRecvmsg({ size: 512, control: true, flags: c.MSG_ERRQUEUE });
      if (m) ee = m.control.find((x) => x.level === c.IPPROTO_IP && x.type === c.IP_RECVERR);
      else await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(ee, 'no error arrived');
    assert.equal(ee.offender.address, '10.0.1.1');
    assert.deepEqual([ee.icmpType, ee.icmpCode], [11, 0]); // time exceeded in transit
  } finally {
    await cli.close();
  }
});
