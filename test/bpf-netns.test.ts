// A compiled filter on a real Ethernet link: a veth pair whose far end is in
// a network namespace this file creates (and always removes). python3 in the
// namespace (a peer ksock did not write) sends 802.1Q-tagged and untagged
// UDP frames through its own packet socket; a packet socket on the near end with
// bpf.compile('vlan 10 and udp dst port P') must see exactly the VLAN-10
// datagrams to P, whether the kernel left the tag in the frame or took it
// out (then it is ancillary data, read here through PACKET_AUXDATA and
// given to the VM, which must agree with the kernel frame by frame).
// Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN + CAP_NET_RAW), ip(8), python3.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k, capEff } from './helpers';

const { bpf } = k;
const c = k.constants;

const caps = capEff();
const hasCaps = [12n, 13n, 21n].every((b) => ((caps >> b) & 1n) === 1n); // CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN
const hasIp = spawnSync('ip', ['-V'], { timeout: 20_000 }).status === 0;
const hasPython = spawnSync('python3', ['--version'], { timeout: 20_000 }).status === 0;
const runs = hasCaps && hasIp && hasPython && k.features.packet_sockets && c.PACKET_AUXDATA !== undefined;
const why = !hasCaps ? 'skipped: needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_SYS_ADMIN' : !hasIp ? 'skipped: no ip(8)'
  : !hasPython ? 'skipped: no python3' : !runs ? 'skipped: no packet sockets here' : 'runs as root';

const ns = `ksock-${process.pid}-bpf`;
const near = `kba${process.pid}`, far = `kbb${process.pid}`;
const ip = (...args: string[]) => execFileSync('ip', args, { timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'] });
const PORT = 9999;
const marker = `ksock-bpf-${process.pid}`;

/** What python3 in the namespace sends, in order: (label, VLAN id or null, TPID, UDP destination port). */
const SENDS: [string, number | null, number, number][] = [
  ['v10-0', 10, 0x8100, PORT], ['v11-0', 11, 0x8100, PORT], ['plain-0', null, 0, PORT], ['v10-other', 10, 0x8100, PORT + 1],
  ['v10-1', 10, 0x8100, PORT], ['v11-1', 11, 0x8100, PORT], ['plain-1', null, 0, PORT], ['ad10', 10, 0x88a8, PORT],
  ['v10-prio', 0x600a, 0x8100, PORT], ['v10-end', 10, 0x8100, PORT],
];

describe.runIf(runs)(`a compiled VLAN filter on a veth link (${why})`, () => {
  beforeAll(() => {
    ip('netns', 'add', ns);
    ip('link', 'add', near, 'type', 'veth', 'peer', 'name', far, 'netns', ns);
    ip('link', 'set', near, 'up');
    ip('-n', ns, 'link', 'set', far, 'up');
  });

  afterAll(() => {
    for (const cmd of [['link', 'del', near], ['netns', 'del', ns]]) {
      try { ip(...cmd); } catch { /* already gone */ }
    }
  });

  it("only VLAN 10 datagrams to the port arrive; the VM, told the tag, agrees on every frame", async () => {
    const prog = bpf.compile(`vlan 10 and udp and dst port ${PORT}`, { linkType: 'ethernet' });
    const open = (p: k.BpfInsn[] | null): k.Socket => {
      const s = k.Socket.create(c.AF_PACKET!, 'SOCK_RAW', 0);
      try {
        if (p) s.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', p);
        s.setsockopt(c.SOL_PACKET!, c.PACKET_AUXDATA!, Buffer.from(new Int32Array([1]).buffer)); // an int, host order
        s.bind({ family: c.AF_PACKET!, protocol: c.ETH_P_ALL!, ifindex: k.if_nametoindex(near) });
        return s;
      } catch (e) {
        void s.close();
        throw e;
      }
    };
    const all = open(null), filtered = open(prog);
    try {
      const script = [
        'import socket, struct',
        's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
        `s.bind(('${far}', 0))`,
        `for label, vid, tpid, port in ${JSON.stringify(SENDS).replace(/null/g, 'None')}:`,
        `    payload = ('${marker}-' + label).encode()`,
        '    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload',
        '    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([10, 213, 0, 2]), bytes([10, 213, 0, 1]))',
        '    tag = b"" if vid is None else struct.pack("!HH", tpid, vid)',
        '    s.send(bytes.fromhex("020000000001") + bytes.fromhex("020000000002") + tag + b"\\x08\\x00" + ip + udp)',
      ].join('\n');
      const r = spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c', script], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status, r.stderr).toBe(0);

      type Frame = { label: string; data: Buffer; tci?: number; tpid?: number };
      const read = async (s: k.Socket): Promise<Frame[]> => {
        const out: Frame[] = [];
        for (let i = 0; i < 500; i++) {
          const m = await s.recvmsg({ size: 2048, control: true, timeout: 3000 });
          const at = m.data.indexOf(Buffer.from(marker));
          if (at < 0) continue; // the link's own traffic (IPv6 neighbour discovery …)
          const aux = m.control.find((x) => x.level === c.SOL_PACKET && x.type === c.PACKET_AUXDATA);
          const f: Frame = { label: m.data.subarray(at + marker.length + 1).toString(), data: m.data };
          // struct tpacket_auxdata: status u32, len u32, snaplen u32, mac u16, net u16, vlan_tci u16, vlan_tpid u16.
          if (aux && aux.data.length >= 20 && (aux.data.readUInt32LE(0) & 0x10) !== 0) { // TP_STATUS_VLAN_VALID
            f.tci = aux.data.readUInt16LE(16);
            f.tpid = (aux.data.readUInt32LE(0) & 0x40) !== 0 ? aux.data.readUInt16LE(18) : 0x8100;
          }
          out.push(f);
          if (f.label === 'v10-end') return out;
        }
        throw new Error('the end marker did not arrive');
      };
      const seen = await read(all);
      const got = await read(filtered);
      expect(seen.map((f) => f.label)).toEqual(SENDS.map(([l]) => l));
      expect(got.map((f) => f.label)).toEqual(['v10-0', 'v10-1', 'ad10', 'v10-prio', 'v10-end']);
      // Where the tag is, as the kernel delivered it: in metadata (VLAN offload) or in the frame.
      const tagOf = (f: Frame): number | null =>
        f.tci !== undefined ? f.tci & 0xfff : f.data.readUInt16BE(12) === 0x8100 ? f.data.readUInt16BE(14) & 0xfff : null;
      expect(seen.map(tagOf)).toEqual(SENDS.map(([, vid]) => (vid === null ? null : vid & 0xfff)));
      // The VM, given what the kernel gave the filter, keeps exactly the frames the kernel kept.
      const verdicts = seen.map((f) => bpf.run(prog, f.data, f.tci === undefined ? {} : { vlanTci: f.tci, vlanTpid: f.tpid }) > 0);
      expect(seen.filter((_, i) => verdicts[i]).map((f) => f.label)).toEqual(got.map((f) => f.label));
      expect(got.map((f) => f.data.toString('hex'))).toEqual(seen.filter((_, i) => verdicts[i]).map((f) => f.data.toString('hex')));
    } finally {
      await Promise.all([all.close(), filtered.close()]);
    }
  });
});
