// TCP_INFO decoded in full: every field of this kernel's struct tcp_info that
// the headers describe, `state` by name; checked against the kernel's own
// report of the same socket through `ss -tin` where ss is installed.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';

const { Socket, AF_INET, SOCK_STREAM } = k;
const c = k.constants;
const lo = { family: AF_INET, address: '127.0.0.1', port: 0 };
const linux = process.platform === 'linux';
const ss = spawnSync('ss', ['-V'], { encoding: 'utf8' });
const hasSs = ss.status === 0;

async function tcpPair(): Promise<[k.Socket, k.Socket, k.Socket]> {
  const l = Socket.create(AF_INET, SOCK_STREAM).bind(lo).listen();
  const cl = Socket.create(AF_INET, SOCK_STREAM);
  const [s] = await Promise.all([l.accept(), cl.connect(l.address())]);
  return [l, cl, s];
}

const info = (so: k.Socket) => so.getsockopt('IPPROTO_TCP', 'TCP_INFO');

describe.skipIf(c.TCP_INFO === undefined)('TCP_INFO', () => {
  it('a connected socket after sending: ESTABLISHED, bytes_acked, segs_out, min_rtt, delivery_rate, and the rest', async () => {
    const [l, cl, s] = await tcpPair();
    const data = Buffer.alloc(100_000, 7);
    let sent = 0;
    while (sent < data.length) sent += await cl.sendmsg({ data: [data.subarray(sent)] });
    let got = 0;
    while (got < sent) got += (await s.recvmsg({ size: 65536 })).bytes;
    // The ACKs of the last segments may still be on their way: poll, bounded.
    let t = info(cl);
    for (let i = 0; i < 100 && linux && (t.bytes_acked ?? 0) < sent; i++) {
      await new Promise((r) => setTimeout(r, 20));
      t = info(cl);
    }
    expect(t.state).toBe(1);
    expect(t.snd_mss).toBeGreaterThan(0);
    if (!linux) return;
    expect(t.stateName).toBe('ESTABLISHED');
    expect(Object.keys(t).length).toBeGreaterThan(30);
    expect(t.bytes_acked).toBeGreaterThanOrEqual(sent);
    expect(t.bytes_sent).toBeGreaterThanOrEqual(sent);
    expect(info(s).bytes_received).toBe(sent);
    expect(t.segs_out).toBeGreaterThan(0);
    expect(t.min_rtt).toBeGreaterThan(0);
    expect(t.delivery_rate).toBeGreaterThanOrEqual(0);
    expect(t.retransmits).toBe(0);
    expect(t.snd_wscale).toBeGreaterThanOrEqual(0);
    expect(t.snd_wscale).toBeLessThanOrEqual(14);
    expect([0, 1]).toContain(t.delivery_rate_app_limited);
    for (const [name, v] of Object.entries(t)) {
      if (name === 'stateName') continue;
      expect(Number.isInteger(v), name).toBe(true);
      expect(v as number, name).toBeGreaterThanOrEqual(0);
    }
    // The 13 names of before are all still there.
    for (const name of ['state', 'options', 'snd_wscale', 'rcv_wscale', 'rto', 'snd_mss', 'rcv_mss', 'last_data_recv',
      'rtt', 'rttvar', 'snd_ssthresh', 'snd_cwnd', 'rcv_space']) expect(t, name).toHaveProperty(name);
    if (hasSs) {
      // The independent peer: iproute2 decoding the same socket's tcp_info over netlink.
      const a = cl.address(), b = cl.remoteAddress();
      const r = spawnSync('ss', ['-tinH', 'state', 'established', 'src', `127.0.0.1:${a.port}`, 'dst', `127.0.0.1:${b.port}`],
        { encoding: 'utf8', timeout: 10_000 });
      expect(r.status).toBe(0);
      const out = r.stdout;
      const field = (re: RegExp) => {
        const m = re.exec(out);
        expect(m, `${re} in ${out}`).not.toBeNull();
        return Number(m![1]);
      };
      const now = info(cl);
      expect(field(/\bbytes_acked:(\d+)/)).toBe(now.bytes_acked);
      expect(field(/\bmss:(\d+)/)).toBe(now.snd_mss);
      expect(field(/\bcwnd:(\d+)/)).toBe(now.snd_cwnd);
      expect(field(/\bsegs_out:(\d+)/)).toBe(now.segs_out);
      expect(field(/\bwscale:(\d+),/)).toBe(now.snd_wscale);
    } else {
      console.log('TCP_INFO: ss is not installed here; the comparison with ss -tin is skipped');
    }
    await Promise.all([cl.close(), s.close(), l.close()]);
  });

  it('a listening socket is LISTEN; a short length leaves later fields out', async () => {
    const l = Socket.create(AF_INET, SOCK_STREAM).bind(lo).listen();
    const t = info(l);
    if (linux) {
      expect(t.state).toBe(10);
      expect(t.stateName).toBe('LISTEN');
      const spec = k.optSpec(c.IPPROTO_TCP!, c.TCP_INFO!)!;
      const full = Buffer.alloc(512);
      full[0] = 10;
      const short = k.decodeOption(spec, full, 8) as k.TcpInfo; // the first eight one-byte fields only
      expect(short.state).toBe(10);
      expect(short.stateName).toBe('LISTEN');
      expect(short.snd_wscale).toBe(0);
      expect(short.rto).toBeUndefined();
      expect(Object.keys(short).length).toBeLessThan(15);
      const all = k.decodeOption(spec, full, 512) as k.TcpInfo;
      expect(Object.keys(all).length).toBe(Object.keys(t).length);
    }
    await l.close();
  });
});
