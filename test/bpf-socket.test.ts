// Classic BPF programs attached to real sockets: the kernel runs them, and
// what arrives is compared with what the VM says (and with tcpdump's own
// program for the same expression). Loopback only; the packet-socket tests
// need CAP_NET_RAW and skip without it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';

const { bpf } = k;
const { ins } = bpf;
const c = k.constants;
const hasTcpdump = spawnSync('tcpdump', ['--version'], { timeout: 20_000 }).status === 0;
const htons = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff);
const marker = `ksock-bpf-${process.pid}`;

function udp(port = 0): k.Socket {
  const s = k.Socket.create('AF_INET', 'SOCK_DGRAM');
  s.bind({ family: k.AF_INET, address: '127.0.0.1', port });
  return s;
}
const portOf = (s: k.Socket): number => s.address().port!;

/** Receives until `done(msg)` or `max` messages, each wait bounded; returns what arrived. */
async function drain(s: k.Socket, done: (m: k.Msg) => boolean, max = 400): Promise<k.Msg[]> {
  const out: k.Msg[] = [];
  for (let i = 0; i < max; i++) {
    const m = await s.recvmsg({ size: 2048, timeout: 3000 });
    out.push(m);
    if (done(m)) return out;
  }
  throw new Error(`no end marker within ${max} messages`);
}

/** Nothing more is queued (a bounded look: 50 ms). */
async function quiet(s: k.Socket): Promise<boolean> {
  await new Promise((r) => setTimeout(r, 50));
  return s.tryRecvmsg({ size: 2048 }) === null;
}

describe('a filter on a UDP socket', () => {
  it('receives only the datagrams the program accepts, and the VM agrees datagram by datagram', async () => {
    const rx = udp(), tx = udp();
    try {
      // A UDP socket's filter sees the datagram from its UDP header: byte 8 is the payload's first.
      const prog = [ins.ldAbs('b', 8), ins.jmp('jeq', 0x41, 0, 1), ins.ret(0xffff), ins.ret(0)];
      rx.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', prog);
      expect(rx.getsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER')).toEqual(prog);
      const sent = ['A1', 'B2', 'A3', 'C4', 'a5', 'A6', 'Bx', 'Aend'];
      for (const p of sent) await tx.sendmsg({ data: Buffer.from(p), to: rx.address() });
      const got = await drain(rx, (m) => m.data.toString() === 'Aend', 10);
      expect(got.map((m) => m.data.toString())).toEqual(['A1', 'A3', 'A6', 'Aend']);
      expect(await quiet(rx)).toBe(true);
      // The VM, on the same datagrams as the filter saw them (UDP header + payload):
      const verdicts = sent.map((p) => {
        const d = Buffer.concat([Buffer.alloc(8), Buffer.from(p)]);
        d.writeUInt16BE(portOf(tx), 0);
        d.writeUInt16BE(portOf(rx), 2);
        d.writeUInt16BE(d.length, 4);
        return bpf.run(prog, d) > 0;
      });
      expect(sent.filter((_, i) => verdicts[i])).toEqual(['A1', 'A3', 'A6', 'Aend']);

      // Detached: everything arrives again.
      rx.setsockopt('SOL_SOCKET', 'SO_DETACH_FILTER', 0);
      expect(rx.getsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER')).toEqual([]);
      await tx.sendmsg({ data: Buffer.from('Bafter'), to: rx.address() });
      expect((await rx.recvmsg({ timeout: 3000 })).data.toString()).toBe('Bafter');
      // No filter to detach: the kernel's ENOENT.
      expect(() => rx.setsockopt('SOL_SOCKET', 'SO_DETACH_FILTER', 0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    } finally {
      await Promise.all([rx.close(), tx.close()]);
    }
  });

  it('SO_LOCK_FILTER: a locked filter can be neither detached nor replaced (EPERM)', async () => {
    const rx = udp(), tx = udp();
    try {
      rx.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', [ins.ldLen(), ins.jmp('jgt', 8 + 3, 0, 1), ins.ret(0xffff), ins.ret(0)]);
      expect(rx.getsockopt('SOL_SOCKET', 'SO_LOCK_FILTER')).toBe(false);
      rx.setsockopt('SOL_SOCKET', 'SO_LOCK_FILTER', true);
      expect(rx.getsockopt('SOL_SOCKET', 'SO_LOCK_FILTER')).toBe(true);
      expect(() => rx.setsockopt('SOL_SOCKET', 'SO_DETACH_FILTER', 0)).toThrow(expect.objectContaining({ code: 'EPERM', syscall: 'setsockopt' }));
      expect(() => rx.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', [ins.ret(0xffff)])).toThrow(expect.objectContaining({ code: 'EPERM' }));
      expect(() => rx.setsockopt('SOL_SOCKET', 'SO_LOCK_FILTER', false)).toThrow(expect.objectContaining({ code: 'EPERM' }));
      // Still filtering: short datagrams (payload <= 3 bytes) are dropped.
      for (const p of ['ab', 'long one', 'xyz', 'last one']) await tx.sendmsg({ data: Buffer.from(p), to: rx.address() });
      const got = await drain(rx, (m) => m.data.toString() === 'last one', 5);
      expect(got.map((m) => m.data.toString())).toEqual(['long one', 'last one']);
      // The kernel face says the same, as an errno.
      const sopt = new k.Sockopt();
      k.sockopt_init(sopt, k.SOL_SOCKET, k.SO_DETACH_FILTER!, 4);
      expect(k.sosetopt(rx, sopt)).toBe(k.EPERM);
    } finally {
      await Promise.all([rx.close(), tx.close()]);
    }
  });
});

describe.runIf(k.SO_ATTACH_REUSEPORT_CBPF !== undefined)('SO_ATTACH_REUSEPORT_CBPF', () => {
  it('steers each datagram of a reuseport group to the socket whose index the program returns', async () => {
    const a = k.Socket.create('AF_INET', 'SOCK_DGRAM'), b = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    const tx = udp();
    try {
      for (const s of [a, b]) s.setsockopt('SOL_SOCKET', 'SO_REUSEPORT', true);
      a.bind({ family: k.AF_INET, address: '127.0.0.1', port: 0 });
      b.bind(a.address());
      // The group's program sees the payload (the UDP header is pulled): index = first byte & 1.
      a.setsockopt('SOL_SOCKET', 'SO_ATTACH_REUSEPORT_CBPF', [ins.ldAbs('b', 0), ins.alu('and', 1), ins.retA()]);
      const sent = ['0a', '1b', '0c', '0d', '1e', '1f', '0g', '1h'];
      for (const p of sent) await tx.sendmsg({ data: Buffer.from(p), to: a.address() });
      await tx.sendmsg({ data: Buffer.from('0end'), to: a.address() });
      await tx.sendmsg({ data: Buffer.from('1end'), to: a.address() });
      const ga = await drain(a, (m) => m.data.toString() === '0end', 20);
      const gb = await drain(b, (m) => m.data.toString() === '1end', 20);
      // '0' is 0x30 (even) → socket 0 (a); '1' is 0x31 → socket 1 (b).
      expect(ga.map((m) => m.data.toString())).toEqual(['0a', '0c', '0d', '0g', '0end']);
      expect(gb.map((m) => m.data.toString())).toEqual(['1b', '1e', '1f', '1h', '1end']);
      expect(await quiet(a)).toBe(true);
      expect(await quiet(b)).toBe(true);
      // The VM's verdicts are the indexes.
      expect(sent.map((p) => bpf.run([ins.ldAbs('b', 0), ins.alu('and', 1), ins.retA()], Buffer.from(p)))).toEqual([0, 1, 0, 0, 1, 1, 0, 1]);
      expect(() => a.getsockopt('SOL_SOCKET', 'SO_ATTACH_REUSEPORT_CBPF')).toThrow(TypeError); // set only
    } finally {
      await Promise.all([a.close(), b.close(), tx.close()]);
    }
  });
});

interface Frame { data: Buffer; pkttype: number }

/** A packet socket on lo with `prog` attached before it is bound (so nothing arrives unfiltered). */
function packetSocket(prog: k.BpfInsn[] | null): k.Socket {
  const s = k.Socket.create(c.AF_PACKET!, 'SOCK_RAW', 0);
  if (prog !== null) s.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', prog);
  // Room for whatever else other tests send over lo meanwhile (4 MiB; CAP_NET_ADMIN may exceed rmem_max).
  try { s.setsockopt('SOL_SOCKET', 'SO_RCVBUFFORCE', 4 << 20); } catch { s.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 4 << 20); }
  s.bind({ family: c.AF_PACKET!, protocol: c.ETH_P_ALL!, ifindex: k.if_nametoindex('lo') });
  return s;
}

async function frames(s: k.Socket, end: Buffer): Promise<Frame[]> {
  const msgs = await drain(s, (m) => m.data.includes(end) && m.from?.pkttype === c.PACKET_HOST, 2000);
  return msgs.map((m) => ({ data: m.data, pkttype: m.from!.pkttype! }));
}

describe.runIf(k.features.packet_sockets)('a compiled filter on an AF_PACKET socket bound to lo (needs CAP_NET_RAW)', () => {
  it(`sees only 'udp and dst port P'; the VM gives the same verdicts on the unfiltered capture; ${hasTcpdump ? "tcpdump -dd's program too" : '(the tcpdump -dd part skipped: tcpdump is not installed)'}`, async () => {
    const p = udp(), q = udp(), tx = udp(), fromP = udp();
    const P = portOf(p), Q = portOf(q);
    const ours = bpf.compile(`udp and dst port ${P}`, { linkType: 'ethernet' });
    const theirs = hasTcpdump ? bpf.parseTcpdump(spawnSync('tcpdump', ['-dd', `udp port ${P}`], { encoding: 'utf8', timeout: 10_000 }).stdout) : null;
    const all = packetSocket(null), filtered = packetSocket(ours), td = theirs ? packetSocket(theirs) : null;
    try {
      // To P (matches), to Q (does not), from P to Q (only 'udp port P' matches), and an end marker to P.
      const end = Buffer.from(`${marker}-end`);
      for (let i = 0; i < 3; i++) {
        await tx.sendmsg({ data: Buffer.from(`${marker}-to-P-${i}`), to: p.address() });
        await tx.sendmsg({ data: Buffer.from(`${marker}-to-Q-${i}`), to: q.address() });
      }
      // 'from P' needs a socket bound to P: p itself sends.
      await p.sendmsg({ data: Buffer.from(`${marker}-from-P`), to: q.address() });
      await tx.sendmsg({ data: end, to: p.address() });

      const mine = (f: Frame) => f.data.includes(Buffer.from(marker));
      const label = (f: Frame) => f.data.subarray(f.data.indexOf(Buffer.from(marker)) + marker.length + 1).toString();
      const gotAll = (await frames(all, end)).filter(mine);
      const gotFiltered = await frames(filtered, end);
      // lo shows every datagram twice: going out (PACKET_OUTGOING) and coming in (PACKET_HOST).
      const host = (fs: Frame[]) => fs.filter((f) => f.pkttype === c.PACKET_HOST).map(label);
      expect(host(gotAll)).toEqual(['to-P-0', 'to-Q-0', 'to-P-1', 'to-Q-1', 'to-P-2', 'to-Q-2', 'from-P', 'end']);
      // The kernel ran our program: only datagrams to P, nothing else from lo.
      expect(gotFiltered.every(mine)).toBe(true);
      expect(host(gotFiltered)).toEqual(['to-P-0', 'to-P-1', 'to-P-2', 'end']);
      // The VM, on the unfiltered capture, accepts exactly the frames the kernel let through.
      const vm = gotAll.filter((f) => bpf.run(ours, f.data) > 0);
      expect(vm.map((f) => f.data.toString('hex'))).toEqual(gotFiltered.map((f) => f.data.toString('hex')));
      expect(gotAll.filter((f) => bpf.run(ours, f.data) === 0).map(label)).toContain('to-Q-0');

      if (td !== null && theirs !== null) {
        const gotTd = await frames(td, end);
        expect(gotTd.every(mine)).toBe(true);
        expect(host(gotTd)).toEqual(['to-P-0', 'to-P-1', 'to-P-2', 'from-P', 'end']);
        expect(gotAll.filter((f) => bpf.run(theirs, f.data) > 0).map((f) => f.data.toString('hex')))
          .toEqual(gotTd.map((f) => f.data.toString('hex')));
      }
      // Nothing else got through the filters (the unfiltered socket keeps seeing whatever else runs on lo).
      for (const s of [filtered, ...(td ? [td] : [])]) expect(await quiet(s)).toBe(true);
    } finally {
      await Promise.all([p, q, tx, fromP, all, filtered, ...(td ? [td] : [])].map((s) => s.close()));
    }
  });
});

describe.runIf(k.features.packet_sockets && c.PACKET_FANOUT_DATA !== undefined)('PACKET_FANOUT_DATA (needs CAP_NET_RAW)', () => {
  it('takes a program for a PACKET_FANOUT_CBPF group the same way: instructions in, the sock_fprog built natively', async () => {
    const s = k.Socket.create(c.AF_PACKET!, 'SOCK_RAW', htons(c.ETH_P_ALL!));
    try {
      s.bind({ family: c.AF_PACKET!, protocol: c.ETH_P_ALL!, ifindex: k.if_nametoindex('lo') });
      const PACKET_FANOUT_CBPF = 6; // <linux/if_packet.h>
      const group = Buffer.alloc(4);
      group.writeUInt32LE(((process.pid & 0xffff) | (PACKET_FANOUT_CBPF << 16)) >>> 0);
      s.setsockopt(c.SOL_PACKET!, c.PACKET_FANOUT!, group);
      s.setsockopt(c.SOL_PACKET!, c.PACKET_FANOUT_DATA!, bpf.assemble([ins.ret(0)]));
      // Bytes that are not whole instructions are not a program: passed as they are, and the kernel refuses them.
      expect(() => s.setsockopt(c.SOL_PACKET!, c.PACKET_FANOUT_DATA!, Buffer.alloc(12))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => s.setsockopt(c.SOL_PACKET!, c.PACKET_FANOUT_DATA!, bpf.assemble([ins.ldLen(), ins.ldxImm(0), ins.aluX('div'), ins.retA()]).subarray(0, 12)))
        .toThrow(expect.objectContaining({ code: 'EINVAL' }));
    } finally {
      await s.close();
    }
  });
});

describe('examples/bpf-filter.mjs', () => {
  it(`captures only the wanted datagrams on lo, each with the VM's verdict ${k.features.packet_sockets ? '' : '(without CAP_NET_RAW: says so)'}`, () => {
    const root = join(__dirname, '..');
    const r = spawnSync(process.execPath, [join(root, 'examples', 'bpf-filter.mjs')], { encoding: 'utf8', timeout: 20_000, cwd: root });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    if (!k.features.packet_sockets) {
      expect(r.stdout).toMatch(/needs CAP_NET_RAW/);
      return;
    }
    expect(r.stdout).toMatch(/^filter 'udp and dst port \d+': \d+ instructions\n/);
    expect(r.stdout.split('\n').slice(1, 4)).toEqual([1, 2, 3].map((i) => `50 bytes: "wanted ${i}", VM verdict 262144`));
  });
});
