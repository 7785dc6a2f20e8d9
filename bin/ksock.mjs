#!/usr/bin/env node
// ksock: what this machine's sockets can do, and small tools built on them.
//
//   ksock doctor [--json]                      families, types, control messages, privileges
//   ksock ping HOST [-c N] [-i SEC] [-W SEC]    ICMP echo, TTL/hop limit, kernel-timestamped RTT
//   ksock recv ADDR [-n N] [--pktinfo] [--ttl] [--timestamp] [--creds] [--json]
//   ksock send ADDR DATA [--ttl N] [--tos N] [--src IP] [--creds]
//   ksock fd-recv SOCKET [--cat]               wait for a descriptor on a unix socket
//   ksock fd-send SOCKET FILE                  send FILE's descriptor there
//
// ADDR: udp:HOST:PORT, udp6:[HOST]:PORT, unix:/path, unix:@abstract.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { lookup } from 'node:dns/promises';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const k = require('../dist/index.js');
const c = k.constants;

class UsageError extends Error {}

function fail(err) {
  if (err instanceof UsageError) {
    console.error(`ksock: ${err.message}\nusage: ksock doctor|ping|recv|send|fd-recv|fd-send … (ksock help)`);
    process.exit(2);
  }
  if (err instanceof k.SocketError) {
    console.error(`ksock: ${err.message}${hint(err)}`);
    process.exit(1);
  }
  console.error(`ksock: ${err?.message ?? err}`);
  process.exit(1);
}

/** What a refusal means on this machine, in one clause. */
function hint(err) {
  if (err.code !== 'EPERM' && err.code !== 'EACCES') return '';
  if (err.syscall === 'ping') return '';
  return ' (this needs a privilege: CAP_NET_RAW for raw and packet sockets, CAP_NET_ADMIN for some options)';
}

// ------------------------------------------------------------------ doctor

function capabilities() {
  try {
    const m = /CapEff:\s+([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (!m) return null;
    const eff = BigInt('0x' + m[1]);
    const has = (bit) => (eff >> BigInt(bit)) & 1n ? true : false;
    return { CAP_NET_ADMIN: has(12), CAP_NET_RAW: has(13), CAP_SYS_ADMIN: has(21) };
  } catch {
    return null;
  }
}

function pingGroupRange() {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
    return { low: lo, high: hi, includesMe: typeof process.getgid === 'function' && process.getgid() >= lo && process.getgid() <= hi };
  } catch {
    return null;
  }
}

function probe(dom, type, proto = 0) {
  if (dom === undefined || type === undefined) return 'absent';
  const aso = { value: null };
  const e = k.socreate(dom, aso, type, proto);
  if (e === 0) {
    k.soclose(aso.value);
    return 'yes';
  }
  const name = k.errnoName(e);
  return name === 'EPERM' || name === 'EACCES' ? 'needs privilege' : 'no';
}

function libc() {
  const h = process.report?.getReport?.().header;
  if (h?.glibcVersionRuntime) return `glibc ${h.glibcVersionRuntime}`;
  if (process.platform === 'linux') return 'musl (or other)';
  return 'system';
}

function doctor(json) {
  const families = [
    ['AF_UNIX', [['SOCK_STREAM'], ['SOCK_DGRAM'], ['SOCK_SEQPACKET']]],
    ['AF_INET', [['SOCK_STREAM'], ['SOCK_DGRAM'], ['SOCK_RAW', 'IPPROTO_ICMP'], ['SOCK_DGRAM', 'IPPROTO_ICMP', 'ICMP datagram']]],
    ['AF_INET6', [['SOCK_STREAM'], ['SOCK_DGRAM'], ['SOCK_RAW', 'IPPROTO_ICMPV6'], ['SOCK_DGRAM', 'IPPROTO_ICMPV6', 'ICMPv6 datagram']]],
    ['AF_PACKET', [['SOCK_RAW'], ['SOCK_DGRAM']]],
    ['AF_NETLINK', [['SOCK_RAW', 'NETLINK_ROUTE', 'route']]],
    ['AF_LINK', []],
  ];
  const table = {};
  for (const [fam, types] of families) {
    if (c[fam] === undefined) {
      table[fam] = null;
      continue;
    }
    table[fam] = {};
    for (const [type, protoName, label] of types) {
      table[fam][label ?? type] = probe(c[fam], c[type], protoName ? c[protoName] ?? 0 : 0);
    }
  }
  const cmsgs = ['SCM_RIGHTS', 'SCM_CREDENTIALS', 'SCM_CREDS', 'SCM_TIMESTAMP', 'SCM_TIMESTAMPNS', 'SCM_TIMESTAMPING', 'IP_PKTINFO',
    'IP_RECVDSTADDR', 'IP_SENDSRCADDR', 'IP_RECVIF', 'IP_TTL', 'IP_TOS', 'IP_RECVERR', 'IP_ORIGDSTADDR', 'IPV6_PKTINFO',
    'IPV6_HOPLIMIT', 'IPV6_TCLASS', 'IPV6_RECVERR', 'UDP_SEGMENT', 'UDP_GRO', 'SO_RXQ_OVFL', 'SO_MARK']
    .filter((n) => c[n] !== undefined);
  const report = {
    platform: { os: process.platform, kernel: os.release(), arch: process.arch, node: process.version, libc: libc(), napi: process.versions.napi },
    features: k.features,
    families: table,
    controlMessages: cmsgs,
    privileges: {
      uid: process.getuid?.() ?? null,
      capabilities: capabilities(),
      rawSockets: k.features.raw_sockets,
      packetSockets: k.features.packet_sockets,
      icmpDatagram: k.features.icmp_dgram,
      pingGroupRange: pingGroupRange(),
      namespaces: (capabilities()?.CAP_SYS_ADMIN ?? false) && fs.existsSync('/proc/self/ns/net'),
    },
    options: k.sockopts.length,
  };
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const p = report.platform;
  const line = (a, b) => console.log(`  ${String(a).padEnd(22)} ${b}`);
  console.log(`ksock doctor — ${p.os} ${p.kernel} ${p.arch}, Node ${p.node}, ${p.libc}, N-API ${p.napi}\n`);
  console.log('families and socket types');
  for (const [fam, types] of Object.entries(table)) {
    if (types === null) line(fam, 'absent on this platform');
    else line(fam, Object.entries(types).map(([t, v]) => `${t}: ${v}`).join(', ') || 'present');
  }
  console.log('\ncontrol messages');
  line('known here', cmsgs.join(' '));
  console.log('\nprivileges');
  const pr = report.privileges;
  line('uid', pr.uid);
  if (pr.capabilities) line('capabilities', Object.entries(pr.capabilities).map(([n, v]) => `${n} ${v ? 'yes' : 'no'}`).join(', '));
  line('raw sockets', pr.rawSockets ? 'yes' : 'no (needs CAP_NET_RAW)');
  line('packet sockets', pr.packetSockets ? 'yes' : 'no (needs CAP_NET_RAW)');
  line('unprivileged ICMP', pr.icmpDatagram ? 'yes' : `no${pr.pingGroupRange ? ` (net.ipv4.ping_group_range = ${pr.pingGroupRange.low} ${pr.pingGroupRange.high})` : ''}`);
  line('network namespaces', pr.namespaces ? 'can create (CAP_SYS_ADMIN)' : 'no');
  console.log('\nbuild and kernel features');
  const f = Object.entries(k.features);
  for (let i = 0; i < f.length; i += 4) line('', f.slice(i, i + 4).map(([n, v]) => `${n} ${v ? 'yes' : 'no'}`).join(', '));
  console.log(`\n  ${report.options} typed socket options`);
}

// ------------------------------------------------------------------ ping

function checksum(b) {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

const nowNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

async function ping(host, opts) {
  const count = opts.count === undefined ? Infinity : Number(opts.count);
  const interval = Number(opts.interval ?? 1) * 1000;
  const wait = Number(opts.timeout ?? 2) * 1000;
  if (!(count > 0) || !(interval >= 0) || !(wait > 0)) throw new UsageError('ping: -c, -i and -W take positive numbers');
  const family = opts.ipv6 ? 6 : opts.ipv4 ? 4 : 0;
  const { address, family: fam } = await lookup(host, { family });
  const v6 = fam === 6;
  const dom = v6 ? c.AF_INET6 : c.AF_INET;
  const proto = v6 ? c.IPPROTO_ICMPV6 : c.IPPROTO_ICMP;
  let so, raw = true;
  try {
    so = k.Socket.create(dom, c.SOCK_RAW, proto);
  } catch (e) {
    raw = false;
    try {
      so = k.Socket.create(dom, c.SOCK_DGRAM, proto);
    } catch (e2) {
      if (e2.code !== 'EPERM' && e2.code !== 'EACCES') throw e2;
      const r = pingGroupRange();
      throw new Error(`ping ${e2.code}: raw ICMP sockets need CAP_NET_RAW, and unprivileged ICMP is not allowed for group ` +
        `${process.getgid?.()}${r ? ` (net.ipv4.ping_group_range = ${r.low} ${r.high})` : ''}`);
    }
  }
  const id = process.pid & 0xffff;
  if (v6) so.setsockopt('IPPROTO_IPV6', 'IPV6_RECVHOPLIMIT', true);
  else so.setsockopt('IPPROTO_IP', 'IP_RECVTTL', true);
  try {
    so.setsockopt('SOL_SOCKET', 'SO_TIMESTAMPNS', true);
  } catch {
    so.setsockopt('SOL_SOCKET', 'SO_TIMESTAMP', true);
  }
  const to = { family: dom, address, port: 0 };
  const payload = Buffer.alloc(56, 0x61);
  console.log(`PING ${host} (${address}) ${payload.length}(${payload.length + 28}) bytes of data${raw ? '' : ', unprivileged ICMP socket'}.`);
  const rtts = [];
  let sent = 0;
  const start = Date.now();
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  for (let seq = 1; seq <= count && !stopped; seq++) {
    const m = Buffer.concat([Buffer.alloc(8), payload]);
    m[0] = v6 ? 128 : 8;
    m.writeUInt16BE(id, 4);
    m.writeUInt16BE(seq & 0xffff, 6);
    if (!v6) m.writeUInt16BE(checksum(m), 2); // ICMPv6: the kernel computes it
    const t0 = nowNs();
    await so.sendmsg({ data: m, to });
    sent++;
    const deadline = Date.now() + wait;
    let got = false;
    while (!got && !stopped && Date.now() < deadline) {
      let msg;
      try {
        msg = await so.recvmsg({ size: 1500, control: true, timeout: Math.max(1, deadline - Date.now()), signal: ac.signal });
      } catch (e) {
        if (e.code === 'ETIMEDOUT' || e.name === 'AbortError') break;
        throw e;
      }
      let icmp = msg.data;
      if (raw && !v6) icmp = icmp.subarray((icmp[0] & 0x0f) * 4);
      const replyType = v6 ? 129 : 0;
      if (icmp[0] !== replyType || icmp.readUInt16BE(6) !== (seq & 0xffff)) continue;
      if (raw && icmp.readUInt16BE(4) !== id) continue; // unprivileged sockets: the kernel owns the id
      const ts = msg.control.find((x) => x.level === c.SOL_SOCKET && (x.type === c.SCM_TIMESTAMPNS || x.type === c.SCM_TIMESTAMP));
      const t1 = ts ? BigInt(ts.sec) * 1000000000n + BigInt(ts.nsec ?? ts.usec * 1000) : nowNs();
      const rtt = Number(t1 - t0) / 1e6;
      rtts.push(rtt);
      const ttlItem = msg.control.find((x) => x.ttl !== undefined || x.hoplimit !== undefined);
      const ttl = ttlItem ? `${v6 ? 'hlim' : 'ttl'}=${ttlItem.ttl ?? ttlItem.hoplimit} ` : '';
      console.log(`${icmp.length} bytes from ${msg.from?.address ?? address}: icmp_seq=${seq} ${ttl}time=${rtt.toFixed(3)} ms`);
      got = true;
    }
    if (seq < count && !stopped) await new Promise((r) => { const t = setTimeout(r, interval); process.once('SIGINT', () => { clearTimeout(t); r(); }); });
  }
  await so.close();
  const received = rtts.length;
  const loss = sent ? Math.round(((sent - received) / sent) * 100) : 0;
  console.log(`\n--- ${host} ping statistics ---`);
  console.log(`${sent} packets transmitted, ${received} received, ${loss}% packet loss, time ${Date.now() - start}ms`);
  if (received) {
    const min = Math.min(...rtts), max = Math.max(...rtts), avg = rtts.reduce((a, b) => a + b, 0) / received;
    const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / received);
    console.log(`rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${mdev.toFixed(3)} ms`);
  }
  process.exitCode = received === 0 ? 1 : 0;
}

// ------------------------------------------------------------------ recv / send

function parseAddr(s) {
  if (typeof s !== 'string') throw new UsageError('an address is required: udp:HOST:PORT, udp6:[HOST]:PORT, unix:/path or unix:@name');
  let m;
  if ((m = /^udp:([^:]+):(\d+)$/.exec(s))) return { dom: c.AF_INET, addr: { family: c.AF_INET, address: m[1], port: Number(m[2]) } };
  if ((m = /^udp6:\[([^\]]+)\]:(\d+)$/.exec(s))) return { dom: c.AF_INET6, addr: { family: c.AF_INET6, address: m[1], port: Number(m[2]) } };
  if ((m = /^unix:(.+)$/.exec(s))) return { dom: c.AF_UNIX, addr: { family: c.AF_UNIX, path: m[1].startsWith('@') ? '\0' + m[1].slice(1) : m[1] } };
  throw new UsageError(`not an address: ${s} (udp:HOST:PORT, udp6:[HOST]:PORT, unix:/path, unix:@name)`);
}

function showAddr(a) {
  if (!a) return '?';
  if (a.address !== undefined) return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  if (typeof a.path === 'string') return a.path === '' ? '(unnamed)' : a.path.startsWith('\0') ? '@' + a.path.slice(1) : a.path;
  return `family ${a.family}`;
}

function describeControl(m) {
  const out = [];
  for (const x of m.control) {
    if (x.type === c.IP_PKTINFO && x.level === c.IPPROTO_IP) out.push(`pktinfo=${x.addr}@${k.if_indextoname(x.ifindex) ?? x.ifindex}`);
    else if (x.type === c.IPV6_PKTINFO && x.level === c.IPPROTO_IPV6) out.push(`pktinfo=${x.addr}@${k.if_indextoname(x.ifindex) ?? x.ifindex}`);
    else if (x.ttl !== undefined) out.push(`ttl=${x.ttl}`);
    else if (x.hoplimit !== undefined) out.push(`hoplimit=${x.hoplimit}`);
    else if (x.tos !== undefined) out.push(`tos=${x.tos}`);
    else if (x.nsec !== undefined) out.push(`timestamp=${x.sec}.${String(x.nsec).padStart(9, '0')}`);
    else if (x.usec !== undefined) out.push(`timestamp=${x.sec}.${String(x.usec).padStart(6, '0')}`);
    else if (x.mechanism !== undefined) out.push(`creds=pid:${x.pid},uid:${x.uid},gid:${x.gid}`);
    else if (x.fds !== undefined) out.push(`fds=${x.fds.join(',')}`);
    else out.push(`cmsg(${x.level},${x.type},${x.data?.length ?? 0}B)`);
  }
  return out.join(' ');
}

async function recv(target, opts) {
  const { dom, addr } = parseAddr(target);
  const so = k.Socket.create(dom, c.SOCK_DGRAM);
  if (dom !== c.AF_UNIX) so.setsockopt('SOL_SOCKET', 'SO_REUSEADDR', true);
  so.bind(addr);
  if (opts.pktinfo) dom === c.AF_INET6 ? so.setsockopt('IPPROTO_IPV6', 'IPV6_RECVPKTINFO', true) : so.setsockopt('IPPROTO_IP', c.IP_PKTINFO !== undefined ? 'IP_PKTINFO' : 'IP_RECVDSTADDR', true);
  if (opts.ttl) dom === c.AF_INET6 ? so.setsockopt('IPPROTO_IPV6', 'IPV6_RECVHOPLIMIT', true) : so.setsockopt('IPPROTO_IP', 'IP_RECVTTL', true);
  if (opts.timestamp) so.setsockopt('SOL_SOCKET', c.SO_TIMESTAMPNS !== undefined ? 'SO_TIMESTAMPNS' : 'SO_TIMESTAMP', true);
  if (opts.creds && c.SO_PASSCRED !== undefined) so.setsockopt('SOL_SOCKET', 'SO_PASSCRED', true);
  const max = opts.count === undefined ? Infinity : Number(opts.count);
  console.error(`listening on ${showAddr(so.address())}`);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  let n = 0;
  while (n < max) {
    let m;
    try {
      m = await so.recvmsg({ size: 65536, control: true, signal: ac.signal });
    } catch (e) {
      if (e.name === 'AbortError') break;
      throw e;
    }
    n++;
    for (const x of m.control) if (x.fds) x.fds.forEach((fd) => fs.closeSync(fd));
    if (opts.json) {
      console.log(JSON.stringify({ from: m.from, bytes: m.bytes, data: m.data.toString('utf8'), control: m.control.map(({ data, ...rest }) => rest) }));
    } else {
      const ctl = describeControl(m);
      console.log(`from ${showAddr(m.from)} ${m.bytes} bytes ${JSON.stringify(m.data.toString('utf8'))}${ctl ? ' ' + ctl : ''}`);
    }
  }
  await so.close();
  console.error(`${n} datagram${n === 1 ? '' : 's'} received`);
}

async function send(target, data, opts) {
  if (typeof data !== 'string') throw new UsageError('send: DATA is required');
  const { dom, addr } = parseAddr(target);
  const so = k.Socket.create(dom, c.SOCK_DGRAM);
  const control = [];
  if (opts.ttl !== undefined) control.push(dom === c.AF_INET6 ? { level: c.IPPROTO_IPV6, type: c.IPV6_HOPLIMIT, hoplimit: Number(opts.ttl) } : { level: c.IPPROTO_IP, type: c.IP_TTL, ttl: Number(opts.ttl) });
  if (opts.tos !== undefined) control.push(dom === c.AF_INET6 ? { level: c.IPPROTO_IPV6, type: c.IPV6_TCLASS, tclass: Number(opts.tos) } : { level: c.IPPROTO_IP, type: c.IP_TOS, tos: Number(opts.tos) });
  if (opts.src !== undefined) control.push(dom === c.AF_INET6 ? { level: c.IPPROTO_IPV6, type: c.IPV6_PKTINFO, addr: opts.src } : { level: c.IPPROTO_IP, type: c.IP_PKTINFO ?? c.IP_SENDSRCADDR, spec_dst: opts.src, addr: opts.src });
  if (opts.creds && c.SCM_CREDENTIALS !== undefined) control.push({ level: c.SOL_SOCKET, type: c.SCM_CREDENTIALS });
  const n = await so.sendmsg({ data: Buffer.from(data), to: addr, control });
  console.error(`sent ${n} bytes to ${showAddr(addr)}`);
  await so.close();
}

// ------------------------------------------------------------------ fd passing

function unixAddr(s) {
  if (typeof s !== 'string') throw new UsageError('a unix socket is required: /path or @name');
  return { family: c.AF_UNIX, path: s.startsWith('@') ? '\0' + s.slice(1) : s };
}

async function fdRecv(where, opts) {
  const addr = unixAddr(where);
  const l = k.Socket.create(c.AF_UNIX, c.SOCK_STREAM).bind(addr).listen(1);
  console.error(`waiting on ${showAddr(addr)}`);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  try {
    const s = await l.accept({ signal: ac.signal });
    const m = await s.recvmsg({ size: 256, control: true, signal: ac.signal });
    const fds = m.control.flatMap((x) => (x.type === c.SCM_RIGHTS && x.level === c.SOL_SOCKET ? x.fds : []));
    if (fds.length === 0) throw new Error(`no descriptor arrived${m.flags & c.MSG_CTRUNC ? ' (MSG_CTRUNC)' : ''}`);
    for (const fd of fds) {
      const st = fs.fstatSync(fd);
      let target = '';
      try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { /* not on this platform */ }
      const kind = st.isFile() ? 'regular file' : st.isSocket() ? 'socket' : st.isFIFO() ? 'pipe' : st.isCharacterDevice() ? 'character device' : 'other';
      console.log(`received fd ${fd}: ${target || '(unnamed)'} (${kind}${st.isFile() ? `, ${st.size} bytes` : ''})`);
      if (opts.cat) {
        const b = Buffer.alloc(65536);
        let off = 0, n;
        while ((n = fs.readSync(fd, b, 0, b.length, st.isFile() ? off : null)) > 0) {
          process.stdout.write(b.subarray(0, n));
          off += n;
        }
      }
      fs.closeSync(fd);
    }
    await s.close();
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  } finally {
    await l.close();
    if (!addr.path.startsWith('\0')) fs.rmSync(addr.path, { force: true });
  }
}

async function fdSend(where, file) {
  if (typeof file !== 'string') throw new UsageError('fd-send: FILE is required');
  const addr = unixAddr(where);
  const fd = fs.openSync(file, 'r');
  try {
    const s = k.Socket.create(c.AF_UNIX, c.SOCK_STREAM);
    await s.connect(addr, { timeout: 5000 });
    await s.sendmsg({ data: Buffer.from('F'), control: [{ level: c.SOL_SOCKET, type: c.SCM_RIGHTS, fds: [fd] }] });
    console.error(`sent the descriptor of ${file} to ${showAddr(addr)}`);
    await s.close();
  } finally {
    fs.closeSync(fd);
  }
}

// ------------------------------------------------------------------ main

const HELP = `ksock — real sockets from Node.js

  ksock doctor [--json]                     what this machine supports
  ksock ping HOST [-c N] [-i SEC] [-W SEC] [-4|-6]
  ksock recv ADDR [-n N] [--pktinfo] [--ttl] [--timestamp] [--creds] [--json]
  ksock send ADDR DATA [--ttl N] [--tos N] [--src IP] [--creds]
  ksock fd-recv SOCKET [--cat]
  ksock fd-send SOCKET FILE

ADDR: udp:HOST:PORT, udp6:[HOST]:PORT, unix:/path, unix:@name. SOCKET: /path or @name.`;

async function main(argv) {
  const [cmd, ...rest] = argv;
  const spec = {
    doctor: { json: { type: 'boolean' } },
    ping: { count: { type: 'string', short: 'c' }, interval: { type: 'string', short: 'i' }, timeout: { type: 'string', short: 'W' },
      ipv4: { type: 'boolean', short: '4' }, ipv6: { type: 'boolean', short: '6' } },
    recv: { count: { type: 'string', short: 'n' }, pktinfo: { type: 'boolean' }, ttl: { type: 'boolean' }, timestamp: { type: 'boolean' },
      creds: { type: 'boolean' }, json: { type: 'boolean' } },
    send: { ttl: { type: 'string' }, tos: { type: 'string' }, src: { type: 'string' }, creds: { type: 'boolean' } },
    'fd-recv': { cat: { type: 'boolean' } },
    'fd-send': {},
  };
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(HELP);
    return;
  }
  if (!(cmd in spec)) throw new UsageError(`unknown command '${cmd}'`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: spec[cmd], allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  const { values: o, positionals: p } = parsed;
  switch (cmd) {
    case 'doctor': return doctor(o.json);
    case 'ping':
      if (p.length !== 1) throw new UsageError('ping: one HOST');
      return ping(p[0], o);
    case 'recv': return recv(p[0], o);
    case 'send': return send(p[0], p[1], o);
    case 'fd-recv': return fdRecv(p[0], o);
    case 'fd-send': return fdSend(p[0], p[1]);
  }
}

main(process.argv.slice(2)).catch(fail);
