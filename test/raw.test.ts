// Raw-socket tooling: raw IP, IP_HDRINCL, packet sockets, netlink, ICMP
// datagram sockets, interface names. Privileged tests say what they need in
// their names and skip without it; anything beyond loopback runs in a network
// namespace the test creates and removes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { k, mk, bound, local, sleepMs, canCreateNetns } from './helpers';

const c = k.constants;
const root = join(__dirname, '..');
const isRoot = process.getuid?.() === 0;

/** The Internet checksum (RFC 1071). */
function cksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

function echoRequest(id: number, seq: number, payload: Buffer): Buffer {
  const m = Buffer.concat([Buffer.alloc(8), payload]);
  m[0] = 8; // ICMP_ECHO
  m.writeUInt16BE(id, 4);
  m.writeUInt16BE(seq, 6);
  m.writeUInt16BE(cksum(m), 2);
  return m;
}

describe('interface names', () => {
  it('if_nametoindex / if_indextoname agree with /sys/class/net', () => {
    const idx = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8'));
    expect(k.if_nametoindex('lo')).toBe(idx);
    expect(k.if_indextoname(idx)).toBe('lo');
    expect(k.if_nametoindex('no-such-if0')).toBe(0);
    expect(k.if_indextoname(0x7ffffff0)).toBeNull();
    expect(() => k.if_nametoindex(1 as never)).toThrow(TypeError);
  });
});

describe.runIf(k.features.raw_sockets)('raw IP sockets (needs CAP_NET_RAW; skipped without)', () => {
  it('a raw ICMP echo request to 127.0.0.1 is answered', async () => {
    const so = mk(k.AF_INET, k.SOCK_RAW, c.IPPROTO_ICMP);
    const id = process.pid & 0xffff;
    expect(await k.sosend(so, { family: k.AF_INET, address: '127.0.0.1', port: 0 }, null, echoRequest(id, 1, Buffer.from('ksock ping')), null, 0)).toBe(0);
    so.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 2000);
    let reply: Buffer | null = null;
    // A raw ICMP socket also sees our own request on loopback: skip it (bounded).
    for (let i = 0; i < 10 && reply === null; i++) {
      const uio = new k.Uio(Buffer.alloc(1500));
      expect(await k.soreceive(so, null, uio, null, null, null)).toBe(0);
      const pkt = uio.uio_iov[0]!.subarray(0, uio.moved);
      const ihl = (pkt[0]! & 0x0f) * 4;
      const icmp = pkt.subarray(ihl);
      if (icmp[0] === 0 && icmp.readUInt16BE(4) === id) reply = icmp;
    }
    expect(reply).not.toBeNull();
    expect(reply!.readUInt16BE(6)).toBe(1);
    expect(reply!.subarray(8).toString()).toBe('ksock ping');
    expect(cksum(reply!)).toBe(0);
    k.soclose(so);
  });

  it('IP_HDRINCL: a hand-built IPv4+UDP packet reaches a UDP socket', async () => {
    const rx = bound(k.AF_INET, k.SOCK_DGRAM);
    const raw = mk(k.AF_INET, k.SOCK_RAW, c.IPPROTO_UDP);
    raw.setsockopt('IPPROTO_IP', 'IP_HDRINCL', true);
    const payload = Buffer.from('hand-made');
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(local(rx).port!, 2);
    udp.writeUInt16BE(8 + payload.length, 4); // checksum 0: none (IPv4 allows it)
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + payload.length, 2);
    ip[8] = 64;
    ip[9] = c.IPPROTO_UDP!;
    Buffer.from([127, 0, 0, 9]).copy(ip, 12);
    Buffer.from([127, 0, 0, 1]).copy(ip, 16);
    ip.writeUInt16BE(cksum(ip), 10);
    expect(await k.sosend(raw, { family: k.AF_INET, address: '127.0.0.1', port: 0 }, null, [ip, udp, payload], null, 0)).toBe(0);
    const paddr: k.Holder<k.SockaddrOut | null> = { value: null };
    const uio = new k.Uio(Buffer.alloc(64));
    expect(await k.soreceive(rx, paddr, uio, null, null, null)).toBe(0);
    expect(uio.uio_iov[0]!.subarray(0, uio.moved).toString()).toBe('hand-made');
    expect(paddr.value).toEqual({ family: k.AF_INET, address: '127.0.0.9', port: 40000 });
    k.soclose(raw);
    k.soclose(rx);
  });
});

describe.runIf(k.features.packet_sockets)('packet sockets (needs CAP_NET_RAW; skipped without)', () => {
  it('a packet socket bound to lo sees a UDP datagram, with its sockaddr_ll', async () => {
    const ETH_P_ALL = c.ETH_P_ALL!;
    const lo = k.if_nametoindex('lo');
    const ps = mk(c.AF_PACKET!, k.SOCK_DGRAM, ETH_P_ALL); // host order: ksock converts it (lib/packet.ts)
    expect(k.sobind(ps, { family: c.AF_PACKET!, protocol: ETH_P_ALL, ifindex: lo })).toBe(0);
    expect(ps._local()).toMatchObject({ family: c.AF_PACKET, ifindex: lo, protocol: ETH_P_ALL, hatype: c.ARPHRD_LOOPBACK });
    const rx = bound(k.AF_INET, k.SOCK_DGRAM), tx = bound(k.AF_INET, k.SOCK_DGRAM);
    const marker = Buffer.from(`ksock-packet-${process.pid}`);
    k.sosend(tx, local(rx), null, marker, null, 0);
    ps.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 2000);
    let from: k.SockaddrOut | null = null;
    for (let i = 0; i < 50 && from === null; i++) {
      const paddr: k.Holder<k.SockaddrOut | null> = { value: null };
      const uio = new k.Uio(Buffer.alloc(2048));
      expect(await k.soreceive(ps, paddr, uio, null, null, null)).toBe(0);
      if (uio.uio_iov[0]!.subarray(0, uio.moved).includes(marker)) from = paddr.value;
    }
    expect(from).toMatchObject({ family: c.AF_PACKET, ifindex: lo, protocol: c.ETH_P_IP });
    for (const so of [ps, rx, tx]) k.soclose(so);
  });
});

describe.runIf(k.features.af_netlink)('netlink', () => {
  it('an RTM_GETLINK dump lists every ifindex that `ip -j link` shows', async () => {
    let expected: number[];
    try {
      expected = (JSON.parse(execFileSync('ip', ['-j', 'link'], { encoding: 'utf8' })) as { ifindex: number }[]).map((l) => l.ifindex).sort((a, b) => a - b);
    } catch {
      return; // no iproute2 here: nothing independent to compare with
    }
    const nl = mk(c.AF_NETLINK!, k.SOCK_RAW, c.NETLINK_ROUTE!);
    expect(k.sobind(nl, { family: c.AF_NETLINK!, pid: 0, groups: 0 })).toBe(0);
    const me = nl._local()!;
    expect(me.family).toBe(c.AF_NETLINK);
    expect(me.pid).toBeGreaterThan(0); // the kernel assigned one
    const req = Buffer.alloc(32);
    req.writeUInt32LE(32, 0); // nlmsg_len
    req.writeUInt16LE(c.RTM_GETLINK!, 4);
    req.writeUInt16LE(c.NLM_F_REQUEST! | c.NLM_F_DUMP!, 6);
    req.writeUInt32LE(1, 8); // seq
    req[16] = k.AF_UNSPEC; // ifinfomsg.ifi_family
    expect(await k.sosend(nl, { family: c.AF_NETLINK!, pid: 0, groups: 0 }, null, req, null, 0)).toBe(0);
    nl.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 2000);
    const seen: number[] = [];
    let done = false;
    for (let round = 0; round < 100 && !done; round++) {
      const paddr: k.Holder<k.SockaddrOut | null> = { value: null };
      const uio = new k.Uio(Buffer.alloc(65536));
      expect(await k.soreceive(nl, paddr, uio, null, null, null)).toBe(0);
      expect(paddr.value).toEqual({ family: c.AF_NETLINK, pid: 0, groups: 0 }); // from the kernel
      const buf = uio.uio_iov[0]!.subarray(0, uio.moved);
      for (let off = 0; off + 16 <= buf.length;) {
        const len = buf.readUInt32LE(off), type = buf.readUInt16LE(off + 4);
        if (len < 16) break;
        if (type === c.NLMSG_DONE) done = true;
        else if (type === c.NLMSG_ERROR) throw new Error(`netlink error ${buf.readInt32LE(off + 16)}`);
        else if (type === c.RTM_NEWLINK) seen.push(buf.readInt32LE(off + 16 + 4));
        off += (len + 3) & ~3;
      }
    }
    expect(done).toBe(true);
    expect(seen.sort((a, b) => a - b)).toEqual(expected);
    k.soclose(nl);
  });
});

const canNetns = canCreateNetns;

describe.runIf(canNetns)('unprivileged ICMP datagram sockets, in a namespace the test creates (needs root and iproute2 to set it up)', () => {
  it('SOCK_DGRAM + IPPROTO_ICMP echo is answered when ping_group_range allows it', () => {
    const ns = `ksock-ping-${process.pid}`;
    const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
    expect(ip('netns', 'add', ns).status).toBe(0);
    try {
      expect(ip('-n', ns, 'link', 'set', 'lo', 'up').status).toBe(0);
      const sysctl = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range'], { encoding: 'utf8' });
      expect(sysctl.status, sysctl.stderr).toBe(0);
      const script = `
        const k = require(${JSON.stringify(join(root, 'dist/index.js'))});
        (async () => {
          const a = { value: null };
          const e = k.socreate(k.AF_INET, a, k.SOCK_DGRAM, k.constants.IPPROTO_ICMP);
          if (e) throw new Error('socreate ' + k.errnoName(e));
          const so = a.value;
          const m = Buffer.alloc(13); m[0] = 8; m.write('ksock', 8);   // the kernel fills id and checksum
          let r = await k.sosend(so, { family: k.AF_INET, address: '127.0.0.1', port: 0 }, null, m, null, 0);
          if (r) throw new Error('sosend ' + k.errnoName(r));
          so.setsockopt('IPPROTO_IP', 'IP_RECVTTL', true);
          so.setsockopt('SOL_SOCKET', 'SO_RCVTIMEO', 2000);
          const uio = new k.Uio(Buffer.alloc(64)); const cp = { value: null };
          r = await k.soreceive(so, null, uio, null, cp, null);
          const icmp = uio.uio_iov[0].subarray(0, uio.moved);
          const ttl = (cp.value || []).find((x) => x.type === k.constants.IP_TTL);
          console.log(JSON.stringify({ r, type: icmp[0], data: icmp.subarray(8, 13).toString(), ttl: ttl && ttl.ttl }));
          k.soclose(so);
        })().catch((e) => { console.error(String(e)); process.exit(1); });`;
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 15_000 });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ r: 0, type: 0, data: 'ksock', ttl: 64 });
    } finally {
      ip('netns', 'del', ns);
    }
  });
});

describe('address families', () => {
  it.runIf(k.features.unix_abstract)('AF_UNIX abstract names keep embedded NUL and non-UTF-8 bytes exactly (CPython TestLinuxAbstractNamespace; abstract names: Linux)', () => {
    const name = Buffer.from('\0python-test-hello\0\xff', 'latin1');
    const s = mk(k.AF_UNIX, k.SOCK_STREAM);
    expect(k.sobind(s, { family: k.AF_UNIX, path: name })).toBe(0);
    const got = s._local()!.path;
    expect(Buffer.isBuffer(got)).toBe(true);
    expect((got as Buffer).equals(name)).toBe(true);
    const max = mk(k.AF_UNIX, k.SOCK_STREAM);
    expect(k.sobind(max, { family: k.AF_UNIX, path: '\0' + 'h'.repeat(107) })).toBe(0);
    const over = mk(k.AF_UNIX, k.SOCK_STREAM);
    expect(() => k.sobind(over, { family: k.AF_UNIX, path: '\0' + 'h'.repeat(108) })).toThrow(RangeError);
    k.soclose(s);
    k.soclose(max);
    k.soclose(over);
  });

  it('an unnamed AF_UNIX socket reads back as path \'\'; autobind gives an abstract name', () => {
    const s = mk(k.AF_UNIX, k.SOCK_DGRAM);
    expect(s._local()).toEqual({ family: k.AF_UNIX, path: '' });
    if (k.features.unix_abstract) {
      expect(k.sobind(s, { family: k.AF_UNIX })).toBe(0); // autobind
      expect(s._local()!.path).toMatch(/^\0[0-9a-f]{5}$/);
    }
    k.soclose(s);
  });
});
