// Packet sockets' typed options and control items, on a veth pair between two
// network namespaces this file creates and always removes (test/packet-remote.ts):
// promiscuous membership as `ip -d link` reports it, PACKET_AUXDATA's VLAN tag
// from a vlan interface, PACKET_FANOUT splitting one flow, PACKET_STATISTICS,
// the AF_PACKET protocol in host byte order; and, in this process, hostile
// option values.
import { endianness } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index';
import { Remote, Veth, canNetns, hasCaps, udpFlood, whyNot } from './packet-remote';

const c = k.constants;

// Snippets shared by the tests, defined once in the child of namespace a.
const PRELUDE = `
  // A UDP/IPv4 frame to \`port\` (Ethernet, no tag in the frame).
  g.udpTo = (b, port) => b.length >= 42 && b.readUInt16BE(12) === 0x0800 && b[23] === 17 && b.readUInt16BE(14 + (b[14] & 15) * 4 + 2) === port;
  g.packet = (proto) => k.Socket.create('AF_PACKET', 'SOCK_RAW', proto);
  g.bindTo = (s, proto, dev = 'pa') => s.bind({ family: c.AF_PACKET, protocol: proto, ifindex: k.if_nametoindex(dev) });
  // Receives until \`want\` frames match (or \`ms\` pass): the matching messages.
  g.collect = async (s, pred, want, ms = 3000) => {
    const got = [];
    const end = Date.now() + ms;
    for (let i = 0; i < 10000 && got.length < want; i++) {
      const left = end - Date.now();
      if (left <= 0) break;
      let m;
      try { m = await s.recvmsg({ size: 2048, control: true, timeout: left }); }
      catch (e) { if (e.code === 'ETIMEDOUT') break; throw e; }
      if (pred(m.data)) got.push(m);
    }
    return got;
  };
  // Everything already queued, without waiting.
  g.drain = (s, pred) => {
    let n = 0;
    for (let i = 0; i < 100000; i++) {
      const m = s.tryRecvmsg({ size: 2048 });
      if (m === null) break;
      if (pred(m.data)) n++;
    }
    return n;
  };
  g.fds = () => fs.readdirSync('/proc/self/fd').length;
  return true;`;

describe.runIf(canNetns)(`packet options on a veth pair (two namespaces; ${whyNot})`, () => {
  const net = new Veth('o');
  let a: Remote, b: Remote;
  let fdsBefore = 0;

  beforeAll(async () => {
    try {
      net.setUp();
    } catch (e) {
      net.tearDown();
      throw e;
    }
    a = new Remote(net.a);
    b = new Remote(net.b);
    await a.run(PRELUDE);
    fdsBefore = await a.run('return g.fds()');
  });

  afterAll(async () => {
    try {
      if (a) expect(await a.run('return g.fds()')).toBe(fdsBefore); // every socket of the tests closed
    } finally {
      await a?.close();
      await b?.close();
      net.tearDown();
    }
  });

  it('PACKET_ADD_MEMBERSHIP promisc raises promiscuity to 1 in `ip -d link`; DROP and close put it back to 0', async () => {
    expect(net.promiscuity()).toBe(0);
    await a.run(`g.s = g.packet('ETH_P_ALL'); g.s.setsockopt('SOL_PACKET', 'PACKET_ADD_MEMBERSHIP', { ifname: 'pa', type: 'promisc' });`);
    expect(net.promiscuity()).toBe(1);
    await a.run(`g.s.setsockopt('SOL_PACKET', 'PACKET_DROP_MEMBERSHIP', { ifname: 'pa', type: 'promisc' });`);
    expect(net.promiscuity()).toBe(0);
    // By ifindex and by constant name this time; closing the socket drops it.
    await a.run(`g.s.setsockopt('SOL_PACKET', 'PACKET_ADD_MEMBERSHIP', { ifindex: k.if_nametoindex('pa'), type: 'PACKET_MR_PROMISC' });`);
    expect(net.promiscuity()).toBe(1);
    await a.run('await g.s.close();');
    expect(net.promiscuity()).toBe(0);
  });

  it('an interface name that does not exist is ENODEV; a get of a membership is refused before the kernel', async () => {
    await expect(a.run(`const s = g.packet('ETH_P_ALL'); try { s.setsockopt('SOL_PACKET', 'PACKET_ADD_MEMBERSHIP', { ifname: 'nope0', type: 'promisc' }); } finally { await s.close(); }`))
      .rejects.toMatchObject({ code: 'ENODEV' });
    await expect(a.run(`const s = g.packet('ETH_P_ALL'); try { s.getsockopt('SOL_PACKET', 'PACKET_ADD_MEMBERSHIP'); } finally { await s.close(); }`))
      .rejects.toMatchObject({ remoteName: 'TypeError' });
  });

  it('PACKET_AUXDATA carries the VLAN id of a tagged frame (vlan 5: sent on a vlan interface, or tagged by hand without 8021q); the frame comes untagged', async () => {
    const rx = a.run(`
      const s = g.packet('ETH_P_ALL');
      try {
        s.setsockopt('SOL_PACKET', 'PACKET_AUXDATA', true);
        const on = s.getsockopt('SOL_PACKET', 'PACKET_AUXDATA');
        g.bindTo(s, c.ETH_P_ALL);
        process.stdout.write(''); g.ready = true;
        const [m] = await g.collect(s, (d) => g.udpTo(d, 40505), 1, 5000);
        if (!m) return null;
        const aux = m.control.find((x) => x.name === 'PACKET_AUXDATA');
        return { on, aux: aux && { ...aux, data: undefined }, bytes: m.bytes, type: m.data.readUInt16BE(12) };
      } finally { await s.close(); }`);
    await a.run('for (let i = 0; i < 100 && !g.ready; i++) await new Promise((r) => setTimeout(r, 10)); return g.ready;');
    if (net.vlan) {
      await b.run(udpFlood('10.9.5.1', 40505, 1, 20));
    } else {
      // No 8021q here: the same frame, tagged by hand and sent from a packet
      // socket on pb; the receiving kernel takes the tag off all the same.
      await b.run(`
        const dst = Buffer.from(${JSON.stringify(await a.run(`return fs.readFileSync('/sys/class/net/pa/address', 'utf8').trim()`))}.replace(/:/g, ''), 'hex');
        const src = Buffer.from(fs.readFileSync('/sys/class/net/pb/address', 'utf8').trim().replace(/:/g, ''), 'hex');
        const ip = Buffer.alloc(48);
        ip[0] = 0x45; ip.writeUInt16BE(48, 2); ip[8] = 64; ip[9] = 17;
        Buffer.from([10, 9, 5, 2, 10, 9, 5, 1]).copy(ip, 12);
        ip.writeUInt16BE(k.internetChecksum(ip.subarray(0, 20)), 10);
        ip.writeUInt16BE(40000, 20); ip.writeUInt16BE(40505, 22); ip.writeUInt16BE(28, 24);
        const tag = Buffer.from([0x81, 0x00, 0x00, 0x05]);
        const frame = Buffer.concat([dst, src, tag, Buffer.from([0x08, 0x00]), ip]);
        const s = k.Socket.create('AF_PACKET', 'SOCK_RAW', 0);
        try {
          return await s.sendmsg({ data: frame, to: { family: c.AF_PACKET, ifindex: k.if_nametoindex('pb'), protocol: 0x8100, addr: dst } });
        } finally { await s.close(); }`);
    }
    const r = await rx;
    expect(r).not.toBeNull();
    expect(r.on).toBe(true);
    expect(r.type).toBe(0x0800); // the tag is not in the frame: the kernel moved it to the item
    expect(r.aux.name).toBe('PACKET_AUXDATA');
    expect(r.aux.status & c.TP_STATUS_VLAN_VALID!).toBe(c.TP_STATUS_VLAN_VALID);
    expect(r.aux.vlan_tci & 0xfff).toBe(5);
    if (r.aux.status & c.TP_STATUS_VLAN_TPID_VALID!) expect(r.aux.vlan_tpid).toBe(0x8100);
    expect(r.aux.len).toBe(r.bytes); // 14 + 20 + 8 + 20
    expect(r.bytes).toBe(62);
    expect(r.aux.snaplen).toBe(r.bytes);
    expect(r.aux.mac).toBeGreaterThanOrEqual(0);
    expect(r.aux.net).toBe(r.aux.mac + 14);
  });

  it('without PACKET_AUXDATA no item comes; a frame sent untagged has no VLAN_VALID status', async () => {
    const rx = a.run(`
      const s = g.packet('ETH_P_ALL');
      const t = g.packet('ETH_P_ALL');
      try {
        t.setsockopt('SOL_PACKET', 'PACKET_AUXDATA', 1);
        g.bindTo(s, c.ETH_P_ALL); g.bindTo(t, c.ETH_P_ALL);
        g.ready2 = true;
        const [m] = await g.collect(s, (d) => g.udpTo(d, 40506), 1, 5000);
        const [n] = await g.collect(t, (d) => g.udpTo(d, 40506), 1, 5000);
        return { plain: m && m.control.length, aux: n && n.control.find((x) => x.name === 'PACKET_AUXDATA')?.status };
      } finally { await s.close(); await t.close(); }`);
    await a.run('for (let i = 0; i < 100 && !g.ready2; i++) await new Promise((r) => setTimeout(r, 10)); return g.ready2;');
    await b.run(udpFlood('10.9.0.1', 40506, 1));
    const r = await rx;
    expect(r.plain).toBe(0);
    expect(typeof r.aux).toBe('number');
    expect(r.aux & c.TP_STATUS_VLAN_VALID!).toBe(0);
  });

  it('PACKET_FANOUT lb splits one flow across two sockets of a group; hash keeps it on one', async () => {
    const setup = (group: number, mode: string) => `
      g.f = [g.packet('ETH_P_IP'), g.packet('ETH_P_IP')];
      for (const s of g.f) { g.bindTo(s, c.ETH_P_IP); s.setsockopt('SOL_PACKET', 'PACKET_FANOUT', { group: ${group}, mode: '${mode}' }); }
      return g.f[0].getsockopt('SOL_PACKET', 'PACKET_FANOUT');`;
    const count = `
      await new Promise((r) => setTimeout(r, 200));
      const n = g.f.map((s) => g.drain(s, (d) => g.udpTo(d, 40507)));
      for (const s of g.f) await s.close();
      return n;`;
    // A listener, so that no ICMP error goes back out (it would pass the fanout too).
    await a.run(`g.l = k.Socket.create('AF_INET', 'SOCK_DGRAM'); g.l.bind({ family: c.AF_INET, address: '10.9.0.1', port: 40507 });`);
    try {
      expect(await a.run(setup(4242, 'lb'))).toEqual({ group: 4242, mode: 'lb', flags: [] });
      await b.run(udpFlood('10.9.0.1', 40507, 20));
      const lb = await a.run<number[]>(count);
      expect(lb[0]! + lb[1]!).toBe(20);
      expect(lb[0]).toBeGreaterThanOrEqual(5); // round robin: 10 and 10 when nothing else passes
      expect(lb[1]).toBeGreaterThanOrEqual(5);

      expect(await a.run(setup(4343, 'hash'))).toEqual({ group: 4343, mode: 'hash', flags: [] });
      await b.run(udpFlood('10.9.0.1', 40507, 20));
      const hash = await a.run<number[]>(count);
      expect([...hash].sort((x, y) => x - y)).toEqual([0, 20]); // one flow, one hash, one socket
    } finally {
      await a.run('await g.l.close();');
    }
  });

  it('PACKET_FANOUT: flags by name, the int form, and a socket in no group reads null', async () => {
    const r = await a.run(`
      const s = g.packet('ETH_P_IP'); const t = g.packet('ETH_P_IP');
      try {
        g.bindTo(s, c.ETH_P_IP); g.bindTo(t, c.ETH_P_IP);
        const none = s.getsockopt('SOL_PACKET', 'PACKET_FANOUT');
        s.setsockopt('SOL_PACKET', 'PACKET_FANOUT', { group: 7, mode: 'cpu', flags: ['rollover'] });
        t.setsockopt('SOL_PACKET', 'PACKET_FANOUT', k.fanoutValue({ group: 8, mode: 'rnd' }));
        return { none, s: s.getsockopt('SOL_PACKET', 'PACKET_FANOUT'), t: t.getsockopt('SOL_PACKET', 'PACKET_FANOUT') };
      } finally { await s.close(); await t.close(); }`);
    expect(r.none).toBeNull();
    expect(r.s).toEqual({ group: 7, mode: 'cpu', flags: ['rollover'] });
    expect(r.t).toEqual({ group: 8, mode: 'rnd', flags: [] });
  });

  it('PACKET_STATISTICS counts packets and drops, and reads reset it (the kernel zeroes it on read)', async () => {
    await a.run(`
      g.l = k.Socket.create('AF_INET', 'SOCK_DGRAM'); g.l.bind({ family: c.AF_INET, address: '10.9.0.1', port: 40508 });
      g.st = g.packet('ETH_P_IP'); g.bindTo(g.st, c.ETH_P_IP);
      return g.st.getsockopt('SOL_PACKET', 'PACKET_STATISTICS');`);
    try {
      await b.run(udpFlood('10.9.0.1', 40508, 7));
      const r = await a.run(`
        await new Promise((r) => setTimeout(r, 200));
        const first = g.st.getsockopt('SOL_PACKET', 'PACKET_STATISTICS');
        const again = g.st.getsockopt('SOL_PACKET', 'PACKET_STATISTICS');
        return { first, again, queued: g.drain(g.st, (d) => true) };`);
      expect(r.first).toEqual({ packets: 7, drops: 0 });
      expect(r.again).toEqual({ packets: 0, drops: 0 });
      expect(r.queued).toBe(7);

      // A tiny receive buffer: most of 200 frames are dropped, and counted.
      await a.run(`g.st.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 1); return g.st.getsockopt('SOL_PACKET', 'PACKET_STATISTICS');`);
      await b.run(udpFlood('10.9.0.1', 40508, 200, 1000));
      const d = await a.run(`await new Promise((r) => setTimeout(r, 200)); return { st: g.st.getsockopt('SOL_PACKET', 'PACKET_STATISTICS'), got: g.drain(g.st, () => true) };`);
      expect(d.st.packets).toBe(200); // tp_packets includes the drops
      expect(d.st.drops).toBeGreaterThan(0);
      expect(d.st.packets - d.st.drops).toBe(d.got);
    } finally {
      await a.run('await g.st.close(); await g.l.close();');
    }
  });

  it('the AF_PACKET protocol is taken in host byte order, by name or number, on both faces; a pre-swapped one is another ethertype', async () => {
    const rx = a.run(`
      const byName = k.Socket.create('AF_PACKET', 'SOCK_RAW', 'ETH_P_IP');
      const byNumber = k.Socket.create(c.AF_PACKET, c.SOCK_RAW, 0x0800);
      const aso = { value: null };
      const e = k.socreate(c.AF_PACKET, aso, c.SOCK_RAW, c.ETH_P_IP);
      const kern = aso.value;
      const swapped = k.Socket.create(c.AF_PACKET, c.SOCK_RAW, k.htons(c.ETH_P_IP)); // ethertype 0x0008: never IPv4
      const all = [byName, byNumber, kern, swapped];
      try {
        for (const s of all) s.bind({ family: c.AF_PACKET, ifindex: k.if_nametoindex('pa') }); // protocol from socket()
        g.ready3 = true;
        const got = [];
        for (const s of all.slice(0, 3)) got.push((await g.collect(s, (d) => g.udpTo(d, 40509), 1, 3000)).length);
        await new Promise((r) => setTimeout(r, 100));
        got.push(g.drain(swapped, () => true));
        return { e, got, proto: [byName.so_proto, byNumber.so_proto, kern.so_proto] };
      } finally { for (const s of all) if (s) await s.close(); }`);
    await a.run('for (let i = 0; i < 100 && !g.ready3; i++) await new Promise((r) => setTimeout(r, 10)); return g.ready3;');
    await b.run(udpFlood('10.9.0.1', 40509, 1));
    const r = await rx;
    expect(r.e).toBe(0);
    expect(r.got).toEqual([1, 1, 1, 0]);
    expect(r.proto).toEqual([0x0800, 0x0800, 0x0800]);
  });

  it('PACKET_IGNORE_OUTGOING, PACKET_QDISC_BYPASS, PACKET_VERSION and PACKET_AUXDATA read back what was set', async () => {
    const r = await a.run(`
      const s = g.packet('ETH_P_ALL');
      try {
        const out = {};
        for (const n of ['PACKET_IGNORE_OUTGOING', 'PACKET_QDISC_BYPASS', 'PACKET_AUXDATA']) {
          s.setsockopt('SOL_PACKET', n, true); const on = s.getsockopt('SOL_PACKET', n);
          s.setsockopt('SOL_PACKET', n, false); out[n] = [on, s.getsockopt('SOL_PACKET', n)];
        }
        s.setsockopt('SOL_PACKET', 'PACKET_VERSION', 1);
        out.version = s.getsockopt('SOL_PACKET', 'PACKET_VERSION');
        return out;
      } finally { await s.close(); }`);
    expect(r).toEqual({ PACKET_IGNORE_OUTGOING: [true, false], PACKET_QDISC_BYPASS: [true, false], PACKET_AUXDATA: [true, false], version: 1 });
  });

  it('PACKET_IGNORE_OUTGOING: a socket stops seeing what its interface sends', async () => {
    const r = await a.run(`
      // Outgoing frames reach ETH_P_ALL sockets only.
      const s = g.packet('ETH_P_ALL'), t = g.packet('ETH_P_ALL');
      const u = k.Socket.create('AF_INET', 'SOCK_DGRAM');
      try {
        g.bindTo(s, c.ETH_P_ALL); g.bindTo(t, c.ETH_P_ALL);
        t.setsockopt('SOL_PACKET', 'PACKET_IGNORE_OUTGOING', true);
        for (let i = 0; i < 3; i++) await u.sendmsg({ data: Buffer.from('x'), to: { family: c.AF_INET, address: '10.9.0.2', port: 40510 } });
        await new Promise((r) => setTimeout(r, 200));
        const sent = (d) => g.udpTo(d, 40510);
        return [g.drain(s, sent), g.drain(t, sent)];
      } finally { await s.close(); await t.close(); await u.close(); }`);
    expect(r).toEqual([3, 0]);
  });
});

describe.runIf(hasCaps)('packet options: hostile values (TypeError/RangeError before the kernel)', () => {
  const spec = (name: string) => k.optSpec(c.SOL_PACKET!, c[name]!);
  const enc = (name: string, v: unknown) => () => k.encodeOption(spec(name), v);

  it('the table types the packet rows', () => {
    expect(spec('PACKET_ADD_MEMBERSHIP')).toMatchObject({ type: 'packet_mreq', writeonly: true });
    expect(spec('PACKET_STATISTICS')).toMatchObject({ type: 'tpacket_stats', readonly: true });
    expect(spec('PACKET_FANOUT')).toMatchObject({ type: 'packet_fanout' });
    expect(spec('PACKET_AUXDATA')).toMatchObject({ type: 'bool' });
  });

  it('packet_mreq: wrong shapes and ranges', () => {
    expect(enc('PACKET_ADD_MEMBERSHIP', null)).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', 5)).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1, type: 'bogus' })).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1, type: 'PACKET_MR_NOPE' })).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1, type: 70000 })).toThrow(RangeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: -1, type: 'promisc' })).toThrow(RangeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 2 ** 40, type: 'promisc' })).toThrow(RangeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1.5, type: 'promisc' })).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { type: 'promisc' })).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1, ifname: 'lo', type: 'promisc' })).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifname: 42, type: 'promisc' })).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1, type: 'multicast', address: Buffer.alloc(9) })).toThrow(RangeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1, type: 'multicast', address: 'aa:bb' })).toThrow(TypeError);
    expect(enc('PACKET_ADD_MEMBERSHIP', { ifindex: 1, type: 'multicast', address: new Uint8Array(6) })).toThrow(TypeError);
    // Well-formed: the struct's bytes, address length included.
    const b = k.encodeOption(spec('PACKET_ADD_MEMBERSHIP'), { ifindex: 3, type: 'multicast', address: Buffer.from('01005e000001', 'hex') });
    expect(b.length).toBe(16);
    expect(b.readInt32LE(0) === 3 || b.readInt32BE(0) === 3).toBe(true);
    expect(b.subarray(8, 14).toString('hex')).toBe('01005e000001');
  });

  it('native packet_mreq encoding: a proxy, a getter that throws, a detached address', () => {
    const trap = new Proxy({}, { get: () => { throw new Error('trap'); } });
    expect(() => k.encodeOption(spec('PACKET_ADD_MEMBERSHIP'), trap)).toThrow('trap');
    const ab = new ArrayBuffer(6);
    const view = Buffer.from(ab);
    structuredClone(ab, { transfer: [ab] }); // detaches: the view is now empty
    expect(view.length).toBe(0);
    const b = k.encodeOption(spec('PACKET_ADD_MEMBERSHIP'), { ifindex: 1, type: 'promisc', address: view });
    expect(b.length).toBe(16);
  });

  it('packet_fanout: wrong shapes and ranges', () => {
    expect(enc('PACKET_FANOUT', { group: 70000, mode: 'lb' })).toThrow(RangeError);
    expect(enc('PACKET_FANOUT', { group: -1, mode: 'lb' })).toThrow(RangeError);
    expect(enc('PACKET_FANOUT', { group: 1, mode: 'roundrobin' })).toThrow(TypeError);
    expect(enc('PACKET_FANOUT', { group: 1, mode: 300 })).toThrow(RangeError);
    expect(enc('PACKET_FANOUT', { group: 1, mode: 'lb', flags: ['fast'] })).toThrow(TypeError);
    expect(enc('PACKET_FANOUT', { group: 1, mode: 'lb', flags: new Array(2 ** 20).fill('rollover') })).toThrow(RangeError);
    expect(enc('PACKET_FANOUT', { group: 1, mode: 'lb', flags: 1 })).toThrow(RangeError);
    expect(enc('PACKET_FANOUT', { group: 'a', mode: 'lb' })).toThrow(TypeError);
    expect(enc('PACKET_FANOUT', 'lb')).toThrow(TypeError);
    expect(enc('PACKET_FANOUT', 2 ** 33)).toThrow(RangeError);
    expect(k.fanoutValue({ group: 9, mode: 'lb', flags: ['defrag', 'rollover'] }))
      .toBe((9 | ((c.PACKET_FANOUT_LB! | c.PACKET_FANOUT_FLAG_DEFRAG! | c.PACKET_FANOUT_FLAG_ROLLOVER!) << 16)) >>> 0);
    expect(k.decodeFanout(k.fanoutValue({ group: 9, mode: 'qm', flags: ['defrag'] }))).toEqual({ group: 9, mode: 'qm', flags: ['defrag'] });
  });

  it('getters are read once: a value that changes between reads cannot slip past the checks', () => {
    let reads = 0;
    const fickle = { group: 3, mode: 'lb', get flags() { return reads++ === 0 ? ['rollover'] : new Array(1e6).fill('x'); } };
    expect(k.fanoutValue(fickle)).toBe((3 | ((c.PACKET_FANOUT_LB! | c.PACKET_FANOUT_FLAG_ROLLOVER!) << 16)) >>> 0);
    expect(reads).toBe(1);
    let areads = 0;
    const mreq = { ifindex: 1, type: 'multicast', get address() { return areads++ === 0 ? Buffer.alloc(6, 1) : Buffer.alloc(4096); } };
    expect(k.encodeOption(spec('PACKET_ADD_MEMBERSHIP'), mreq).subarray(8, 14)).toEqual(Buffer.alloc(6, 1));
    expect(areads).toBe(1);
    // A proxy whose length lies: at most FLAGS.length elements are read.
    let got = 0;
    const liar = new Proxy(['rollover'], { get: (t, key) => (key === 'length' ? 1 : (got++, Reflect.get(t, key))) });
    expect(() => k.fanoutValue({ group: 1, mode: 'lb', flags: liar as never })).not.toThrow();
    expect(got).toBeLessThanOrEqual(4);
  });

  it('PACKET_STATISTICS cannot be set; its decoding tolerates short and long answers', () => {
    expect(enc('PACKET_STATISTICS', { packets: 1, drops: 0 })).toThrow(TypeError);
    const s = spec('PACKET_STATISTICS');
    // The kernel writes host byte order.
    const b = Buffer.alloc(12);
    const put = (v: number, o: number) => (endianness() === 'LE' ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
    put(5, 0); put(2, 4); put(1, 8);
    expect(k.decodeOption(s, b, 8)).toEqual({ packets: 5, drops: 2 });
    expect(k.decodeOption(s, b, 12)).toEqual({ packets: 5, drops: 2, freeze_q_cnt: 1 });
    expect(k.decodeOption(s, b, 4)).toEqual({ packets: 5, drops: 0 }); // cut short: the missing field reads 0
    expect(k.decodeOption(s, Buffer.alloc(0), 0)).toEqual({ packets: 0, drops: 0 });
  });

  it('socket(): an AF_PACKET protocol beyond 16 bits is a RangeError on both faces', () => {
    expect(() => k.Socket.create('AF_PACKET', 'SOCK_RAW', 0x10000)).toThrow(RangeError);
    expect(() => k.Socket.create('AF_PACKET', 'SOCK_RAW', -1)).toThrow(RangeError);
    expect(() => k.socreate(c.AF_PACKET!, { value: null }, c.SOCK_RAW, 0x12345)).toThrow(RangeError);
    expect(() => k.Socket.create('AF_PACKET', 'SOCK_RAW', 'IPPROTO_NOPE')).toThrow(TypeError);
  });
});
