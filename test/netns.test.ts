// Network namespaces: named namespaces against ip(8) as the independent peer,
// sockets and sysctls inside a namespace against CPython and sysctl(8) run by
// `ip netns exec`. Every namespace is named ksock-<pid>-… and removed after
// each test, whatever happened. Needs CAP_SYS_ADMIN + CAP_NET_ADMIN and ip(8);
// the argument checks run everywhere.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { k, capEff } from './helpers';
import { native } from '../lib/native';

const { netns } = k;

// The peers (ip, sysctl, CPython) are not under test: they run without the sanitizer runtime that
// the ASan pass preloads (CPython starts ~4× slower with it).
const peerEnv: NodeJS.ProcessEnv = { ...process.env };
delete peerEnv.LD_PRELOAD;
delete peerEnv.ASAN_OPTIONS;
delete peerEnv.UBSAN_OPTIONS;

const caps = capEff();
const hasCaps = ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n; // CAP_NET_ADMIN, CAP_SYS_ADMIN
const hasIp = spawnSync('ip', ['-V'], { timeout: 10_000, env: peerEnv }).status === 0;
const hasPython = spawnSync('python3', ['-c', 'import socket'], { timeout: 15_000, env: peerEnv }).status === 0;
const hasSysctl = spawnSync('sysctl', ['-n', 'kernel.ostype'], { timeout: 10_000, env: peerEnv }).status === 0;
const why = !netns.supported ? 'skipped: no network namespaces in this build'
  : !hasCaps ? 'skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN' : !hasIp ? 'skipped: no ip(8)' : 'runs as root with ip(8)';

const ns = (x: string) => `ksock-${process.pid}-${x}`;
const made = new Set<string>();
/** A namespace name for this test, removed in afterEach. */
function name(x: string): string {
  const n = ns(x);
  made.add(n);
  return n;
}

/**
 * Runs a peer command; its stdout. Asynchronous: a synchronous child would block the vitest worker
 * (and its RPC) for as long as the command takes on a loaded machine.
 */
function run(cmd: string, args: string[], timeout = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout, env: peerEnv, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}${stderr ? `\n${stderr}` : ''}`));
      else resolve(stdout);
    });
  });
}
/** Whether a command fails (exits non-zero). */
const fails = (cmd: string, args: string[]) => run(cmd, args).then(() => false, () => true);
const ip = (...args: string[]) => run('ip', args);
const inNs = (n: string, cmd: string, ...args: string[]) => run('ip', ['netns', 'exec', n, cmd, ...args]);
/** The names `ip netns list` prints (it adds " (id: N)" to those with an id). */
const ipList = async () => (await ip('netns', 'list')).split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);

/** This process's namespace, for every thread of it: no thread is ever left elsewhere. */
function threadNamespaces(): string[] {
  return readdirSync('/proc/self/task').map((t) => {
    try {
      return readlinkSync(`/proc/self/task/${t}/ns/net`);
    } catch {
      return null; // the thread has just exited
    }
  }).filter((x): x is string => x !== null);
}

/**
 * A UDP echo peer in namespace `n`: CPython under `ip netns exec`, bound to 127.0.0.1 there. It
 * prints its port, then answers `count` datagrams with "echo:" + the data (5 s at most).
 */
function pythonEcho(n: string, count: number): { port: Promise<number>; done: Promise<string> } {
  const script = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.bind(('127.0.0.1', 0))
print(s.getsockname()[1], flush=True)
for i in range(int(sys.argv[1])):
    data, addr = s.recvfrom(100)
    s.sendto(b'echo:' + data, addr)
    print(data.decode(), addr[0], flush=True)
`;
  const child = spawn('ip', ['netns', 'exec', n, 'python3', '-c', script, String(count)], { stdio: ['ignore', 'pipe', 'pipe'], env: peerEnv });
  let out = '', err = '';
  let gotPort: (p: number) => void, noPort: (e: Error) => void;
  const port = new Promise<number>((res, rej) => { gotPort = res; noPort = rej; });
  child.stdout.on('data', (d) => {
    out += d;
    const first = out.split('\n');
    if (first.length > 1) gotPort(Number(first[0]));
  });
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else {
        const e = new Error(`python peer exited ${code}: ${err}`);
        noPort(e);
        reject(e);
      }
    });
  });
  return { port, done };
}

describe('netns: arguments are checked before anything is done', () => {
  it('names as iproute2 checks them: TypeError, RangeError past 255 bytes', () => {
    for (const bad of ['', '.', '..', 'a/b', '/abs', 'a\0b']) {
      expect(() => netns.add(bad), JSON.stringify(bad)).toThrow(TypeError);
      expect(() => netns.delete(bad), JSON.stringify(bad)).toThrow(TypeError);
      expect(() => netns.exists(bad), JSON.stringify(bad)).toThrow(TypeError);
    }
    for (const bad of [undefined, null, 42, {}, ['x'], Symbol('x')]) expect(() => netns.add(bad as never)).toThrow(TypeError);
    expect(() => netns.add('x'.repeat(256))).toThrow(RangeError);
    expect(() => netns.add('é'.repeat(128))).toThrow(RangeError); // 256 bytes
  });

  it('namespace refs: a name, a path, { name } / { path } / { fd } — one of them', () => {
    const t = (ref: unknown) => () => netns.socket(ref as never, 'AF_INET', 'SOCK_DGRAM');
    for (const bad of [undefined, null, 42, {}, { name: 'a', path: '/b' }, { fd: 'x' }, { fd: 1.5 }, { path: '' }, { path: 'a\0b' },
      { name: '..' }, '', 'a/b', true]) {
      expect(t(bad), JSON.stringify(bad)).toThrow(TypeError);
    }
    expect(t({ fd: -1 })).toThrow(RangeError);
    expect(t({ fd: 2 ** 31 })).toThrow(RangeError);
    expect(t({ path: '/' + 'x'.repeat(5000) })).toThrow(RangeError);
    // Domain, type and protocol are checked as Socket.create checks them.
    expect(() => netns.socket('x', 'SOCK_DGRAM', 'SOCK_DGRAM')).toThrow(TypeError);
    expect(() => netns.socket('x', 'AF_INET', 'SOCK_NOPE')).toThrow(TypeError);
    expect(() => k.Socket.create('AF_INET', 'SOCK_DGRAM', 0, { netns: { fd: -3 } })).toThrow(RangeError);
  });

  it('a ref is read once, and a getter that throws is what the caller sees', () => {
    let reads = 0;
    const ref = { get name() { reads++; return '..'; } };
    expect(() => netns.socket(ref, 'AF_INET', 'SOCK_DGRAM')).toThrow(TypeError);
    expect(reads).toBe(1);
    const boom = new Error('boom');
    const trap = new Proxy({}, { get() { throw boom; } });
    expect(() => netns.socket(trap as never, 'AF_INET', 'SOCK_DGRAM')).toThrow(boom);
  });

  it('sysctl keys as sysctl(8) writes them; values are text, integers or lists of integers', () => {
    expect(k.sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(k.sysctlPath('net/ipv4/ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(k.sysctlPath('net.ipv4.conf.eth0/100.forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0.100/forwarding');
    expect(k.sysctlPath('net/ipv4/conf/eth0.100/forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0.100/forwarding');
    for (const bad of ['', 'net..ipv4', 'net.ipv4.', '.net', 'net/../../etc/passwd', 'net.a\0b']) {
      expect(() => netns.sysctl('x', bad), JSON.stringify(bad)).toThrow(TypeError);
    }
    expect(() => netns.sysctl('x', 'net.ipv4.ip_forward', 1.5)).toThrow(RangeError);
    expect(() => netns.sysctl('x', 'net.ipv4.ip_forward', [] as never)).toThrow(RangeError);
    expect(() => netns.sysctl('x', 'net.ipv4.ip_forward', {} as never)).toThrow(TypeError);
    expect(() => netns.writeFile('x', '/proc/sys/net/ipv4/ip_forward', 7 as never)).toThrow(TypeError);
    expect(() => netns.writeFile('x', '/tmp/y', Buffer.alloc(64 * 1024 + 1))).toThrow(RangeError);
  });

  it('the raw addon: hostile values are TypeError/RangeError, never a crash', () => {
    const n = native;
    expect(() => n.socketIn({} as never, 2, 2, 0)).toThrow(TypeError);
    expect(() => n.socketIn(-1, 2, 2, 0)).toThrow(RangeError);
    expect(() => n.socketIn('/x'.repeat(3000), 2, 2, 0)).toThrow(RangeError);
    expect(() => n.socketIn('/x', 2, 2, 0, 5 as never)).toThrow(TypeError);
    expect(() => n.nsReadFile('/x', '')).toThrow(TypeError);
    expect(() => n.nsWriteFile('/x', '/y', 'str' as never)).toThrow(TypeError);
    expect(() => n.nsWriteFile('/x', '/y', Buffer.alloc(70_000))).toThrow(RangeError);
    expect(() => n.netnsAdd('a/b')).toThrow(TypeError);
    expect(() => n.netnsDelete('..')).toThrow(TypeError);
    expect(() => n.netnsAdd('x'.repeat(300))).toThrow(RangeError);
    // A failure's syscall goes into the holder; a holder whose setter throws rethrows that.
    const where: { value?: string; path?: string } = {};
    expect(n.socketIn('/nonexistent/ksock', 2, 2, 0, where)).toBe(-k.constants.ENOENT);
    expect(where).toEqual({ value: 'open', path: '/nonexistent/ksock' });
    const boom = new Error('boom');
    expect(() => n.socketIn('/nonexistent/ksock', 2, 2, 0, { set value(_v: string) { throw boom; } } as never)).toThrow(boom);
  });
});

describe.runIf(netns.supported && hasCaps && hasIp)(`netns: named namespaces and sockets inside them (${why})`, () => {
  let hostNs = '', hostThreadNs = '', hostTasks = 0;
  beforeAll(() => {
    hostNs = readlinkSync('/proc/self/ns/net');
    hostThreadNs = readlinkSync('/proc/thread-self/ns/net');
    hostTasks = readdirSync('/proc/self/task').length;
  });

  afterEach(async () => {
    for (const n of made) await fails('ip', ['netns', 'del', n]);
    made.clear();
  });

  afterAll(() => {
    // The calling thread never changed namespace, nor did any other thread of the process, and
    // every helper thread is gone (a thread may be the runner's own: compare counts loosely).
    expect(readlinkSync('/proc/self/ns/net')).toBe(hostNs);
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(hostThreadNs);
    expect(new Set(threadNamespaces())).toEqual(new Set([hostNs]));
    expect(readdirSync('/proc/self/task').length).toBeLessThanOrEqual(hostTasks + 2);
  });

  it('netns.add makes a namespace ip(8) lists and enters; it is not the host namespace', async () => {
    const a = name('a');
    expect(netns.exists(a)).toBe(false);
    netns.add(a);
    expect(netns.exists(a)).toBe(true);
    expect(await ipList()).toContain(a);
    // Other test files add and remove namespaces at the same time: compare this file's own.
    const own = (n: string) => n.startsWith(ns(''));
    expect(netns.list().filter(own)).toEqual((await ipList()).filter(own).sort());
    // `ip netns exec` enters it: a fresh namespace has only lo, down.
    const links = JSON.parse(await inNs(a, 'ip', '-j', 'link', 'show')) as { ifname: string; operstate: string }[];
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect((await inNs(a, 'readlink', '/proc/self/ns/net')).trim()).not.toBe(hostNs);
    // A second add of the same name: EEXIST from open, with the path, as `ip netns add` refuses it.
    expect(() => netns.add(a)).toThrow(expect.objectContaining({ name: 'SocketError', code: 'EEXIST', syscall: 'open', path: `/run/netns/${a}` }));
    expect(await fails('ip', ['netns', 'add', a])).toBe(true);
  });

  it('a namespace added by ip(8) is listed by ksock, and netns.delete removes it (ip agrees)', async () => {
    const b = name('b');
    await ip('netns', 'add', b);
    expect(netns.list()).toContain(b);
    expect(netns.exists(b)).toBe(true);
    netns.delete(b);
    expect(netns.list()).not.toContain(b);
    expect(await ipList()).not.toContain(b);
    expect(netns.exists(b)).toBe(false);
    // Nothing is left mounted on the name.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`/run/netns/${b} `);
    expect(() => netns.delete(b)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'unlink', errno: k.constants.ENOENT }));
  });

  it.runIf(hasPython)(`UDP over the namespace's loopback to a CPython peer inside it, by name, path, fd and Socket.create; the host port is another${hasPython ? '' : ' (skipped: no python3)'}`, { timeout: 30_000 }, async () => {
    const a = name('u');
    netns.add(a);
    await ip('-n', a, 'link', 'set', 'lo', 'up');
    const peer = pythonEcho(a, 4);
    const port = await peer.port;
    // The same port is free in the host: the peer's socket is not there.
    const host = k.Socket.create('AF_INET', 'SOCK_DGRAM').bind({ family: k.AF_INET, address: '127.0.0.1', port });
    const fd = openSync(`/run/netns/${a}`, 'r');
    const socks: k.Socket[] = [];
    try {
      socks.push(netns.socket(a, 'AF_INET', 'SOCK_DGRAM'));
      socks.push(netns.socket({ path: `/run/netns/${a}` }, k.AF_INET, k.SOCK_DGRAM, 0));
      socks.push(netns.socket({ fd }, 'AF_INET', 'SOCK_DGRAM', 'IPPROTO_UDP'));
      socks.push(k.Socket.create('AF_INET', 'SOCK_DGRAM', 0, { netns: { name: a } }));
      for (const [i, s] of socks.entries()) {
        expect(s.so_dom).toBe(k.AF_INET);
        expect(s.so_type).toBe(k.SOCK_DGRAM);
        const sent = await s.sendmsg({ data: Buffer.from(`hello ${i}`), to: { family: k.AF_INET, address: '127.0.0.1', port } });
        expect(sent).toBe(7);
        const m = await s.recvmsg({ size: 100, timeout: 5000 });
        expect(m.data.toString()).toBe(`echo:hello ${i}`);
        expect(m.from).toMatchObject({ address: '127.0.0.1', port });
      }
      const out = (await peer.done).trim().split('\n');
      expect(out.slice(1)).toEqual(['hello 0 127.0.0.1', 'hello 1 127.0.0.1', 'hello 2 127.0.0.1', 'hello 3 127.0.0.1']);
      // Nothing reached the host's socket on that port.
      expect(host.tryRecvmsg()).toBeNull();
    } finally {
      for (const s of socks) await s.close();
      await host.close();
      closeSync(fd);
    }
  });

  it('a socket in a namespace is a normal Socket: its own loopback, kept alive after netns.delete', async () => {
    const a = name('d');
    netns.add(a);
    await ip('-n', a, 'link', 'set', 'lo', 'up');
    const r = netns.socket(a, 'AF_INET', 'SOCK_DGRAM').bind({ family: k.AF_INET, address: '127.0.0.1', port: 0 });
    const s = netns.socket(a, 'AF_INET', 'SOCK_DGRAM', 0, { nonblocking: true });
    try {
      expect(s.so_state & k.SS_NBIO).toBe(k.SS_NBIO);
      netns.delete(a);
      made.delete(a);
      expect(await ipList()).not.toContain(a);
      await s.sendmsg({ data: Buffer.from('still here'), to: r.address() as k.SockaddrIn });
      expect((await r.recvmsg({ timeout: 5000 })).data.toString()).toBe('still here');
      // The host has no socket on r's port: the host's loopback is another.
      const probe = k.Socket.create('AF_INET', 'SOCK_DGRAM').bind(r.address() as k.SockaddrIn);
      await probe.close();
    } finally {
      await s.close();
      await r.close();
    }
  });

  it('a netlink socket in a namespace dumps that namespace\'s links, as `ip -n NAME link` shows them', async () => {
    const a = name('n');
    netns.add(a);
    await ip('-n', a, 'link', 'add', 'ksd0', 'type', 'veth', 'peer', 'name', 'ksd1');
    const s = netns.socket(a, 'AF_NETLINK', 'SOCK_RAW', 'NETLINK_ROUTE');
    try {
      s.bind({ family: k.AF_NETLINK, pid: 0, groups: 0 });
      // RTM_GETLINK dump: nlmsghdr + ifinfomsg (AF_UNSPEC).
      const req = Buffer.alloc(32);
      req.writeUInt32LE(32, 0);
      req.writeUInt16LE(k.constants.RTM_GETLINK!, 4);
      req.writeUInt16LE(k.constants.NLM_F_REQUEST! | k.constants.NLM_F_DUMP!, 6);
      req.writeUInt32LE(1, 8);
      await s.sendmsg({ data: req, to: { family: k.AF_NETLINK, pid: 0, groups: 0 } });
      const names: string[] = [];
      let done = false;
      for (let i = 0; i < 20 && !done; i++) {
        const m = await s.recvmsg({ size: 65536, timeout: 5000 });
        for (let off = 0; off + 16 <= m.data.length;) {
          const len = m.data.readUInt32LE(off), type = m.data.readUInt16LE(off + 4);
          if (len < 16 || off + len > m.data.length) break;
          if (type === k.constants.NLMSG_DONE) done = true;
          if (type === k.constants.RTM_NEWLINK) { // an ifinfomsg, then attributes
            for (let at = off + 32; at + 4 <= off + len;) {
              const alen = m.data.readUInt16LE(at), atype = m.data.readUInt16LE(at + 2);
              if (alen < 4) break;
              if ((atype & 0x3fff) === 3) names.push(m.data.toString('utf8', at + 4, at + alen).replace(/\0+$/, '')); // IFLA_IFNAME
              at += (alen + 3) & ~3;
            }
          }
          off += (len + 3) & ~3;
        }
      }
      expect(done).toBe(true);
      const fromIp = (JSON.parse(await ip('-n', a, '-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname);
      expect(names).toEqual(fromIp);
      expect(names.sort()).toEqual(['ksd0', 'ksd1', 'lo']);
    } finally {
      await s.close();
    }
  });

  it.runIf(hasSysctl)(`sysctl inside a namespace equals \`ip netns exec NAME sysctl -n\`, and the host keeps its value${hasSysctl ? '' : ' (skipped: no sysctl(8))'}`, async () => {
    const a = name('s');
    netns.add(a);
    await ip('-n', a, 'link', 'add', 'ksd0.5', 'type', 'veth', 'peer', 'name', 'ksd1');
    // First make sure ksock's files are the namespace's (its interfaces, not the host's): a broken
    // build must fail here, before it writes anything, rather than change the host's settings.
    expect(netns.sysctl(a, 'net.ipv4.conf.ksd0/5.forwarding')).toBe('0');
    expect(readdirSync('/proc/sys/net/ipv4/conf')).not.toContain('ksd0.5');
    const hostValue = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const other = hostValue === '1' ? '0' : '1';
    netns.sysctl(a, 'net.ipv4.ip_forward', Number(other));
    expect((await inNs(a, 'sysctl', '-n', 'net.ipv4.ip_forward')).trim()).toBe(other);
    expect(netns.sysctl(a, 'net.ipv4.ip_forward')).toBe(other);
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostValue);
    // A list, read back as sysctl(8) prints it; and a value set by sysctl(8) read by ksock.
    netns.sysctl(a, 'net.ipv4.ping_group_range', [0, 4242]);
    expect(netns.sysctl(a, 'net.ipv4.ping_group_range')).toBe((await inNs(a, 'sysctl', '-n', 'net.ipv4.ping_group_range')).trim());
    expect(netns.sysctl(a, 'net.ipv4.ping_group_range').split(/\s+/)).toEqual(['0', '4242']);
    await inNs(a, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=20000 20999');
    expect(netns.sysctl(a, 'net.ipv4.ip_local_port_range')).toBe((await inNs(a, 'sysctl', '-n', 'net.ipv4.ip_local_port_range')).trim());
    // A name with a dot, written with '/' in the dotted key, as sysctl(8) takes it.
    netns.sysctl(a, 'net.ipv4.conf.ksd0/5.forwarding', 1);
    expect((await inNs(a, 'sysctl', '-n', 'net.ipv4.conf.ksd0/5.forwarding')).trim()).toBe('1');
    expect(netns.sysctl({ path: `/run/netns/${a}` }, 'net/ipv4/conf/ksd0.5/forwarding')).toBe('1');
    // A value the kernel refuses is the kernel's errno, from write.
    expect(() => netns.sysctl(a, 'net.ipv4.ip_forward', 'nope')).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'write' }));
    expect(() => netns.sysctl(a, 'net.ipv4.no_such_key')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
  });

  it('readFile sees the namespace\'s own /proc/thread-self/net, as `ip netns exec` sees /proc/net', async () => {
    const a = name('f');
    netns.add(a);
    await ip('-n', a, 'link', 'add', 'ksd0', 'type', 'veth', 'peer', 'name', 'ksd1');
    const ifaces = (text: string) => text.split('\n').slice(2).filter(Boolean).map((l) => l.split(':')[0]!.trim()).sort();
    const ours = ifaces(netns.readFile(a, '/proc/thread-self/net/dev').toString());
    expect(ours).toEqual(ifaces(await inNs(a, 'cat', '/proc/net/dev')));
    expect(ours).toEqual(['ksd0', 'ksd1', 'lo']);
    expect(ifaces(readFileSync('/proc/thread-self/net/dev', 'utf8'))).not.toContain('ksd0');
  });

  it('bad targets are SocketErrors naming the syscall: ENOENT from open, EINVAL/EBADF from setns', () => {
    const missing = ns('missing');
    expect(() => netns.socket(missing, 'AF_INET', 'SOCK_DGRAM'))
      .toThrow(expect.objectContaining({ name: 'SocketError', code: 'ENOENT', syscall: 'open', path: `/run/netns/${missing}`, message: `open ENOENT /run/netns/${missing}` }));
    expect(() => netns.sysctl(missing, 'net.ipv4.ip_forward')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open' }));
    // A file that is not a namespace: setns says EINVAL.
    expect(() => netns.socket('/dev/null', 'AF_INET', 'SOCK_DGRAM')).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'setns', path: '/dev/null' }));
    const fd = openSync('/dev/null', 'r');
    try {
      expect(() => netns.socket({ fd }, 'AF_INET', 'SOCK_DGRAM')).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'setns', message: `setns EINVAL fd ${fd}` }));
    } finally {
      closeSync(fd);
    }
    // A closed descriptor: EBADF (and the caller's number stays the caller's).
    expect(() => netns.socket({ fd }, 'AF_INET', 'SOCK_DGRAM')).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'setns' }));
    // A socket the namespace cannot make is socket(2)'s error.
    const a = name('e');
    netns.add(a);
    expect(() => netns.socket(a, 'AF_INET', 'SOCK_STREAM', 'IPPROTO_UDP')).toThrow(expect.objectContaining({ code: 'EPROTONOSUPPORT', syscall: 'socket' }));
  });

  it('examples/netns.mjs runs as the README says, and leaves no namespace behind', { timeout: 30_000 }, async () => {
    // The example runs with this process's environment (in the ASan pass, the sanitized addon).
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(__dirname, '..', 'examples', 'netns.mjs')], { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const t = setTimeout(() => child.kill('SIGKILL'), 25_000);
      child.on('close', (status) => { clearTimeout(t); resolve({ status, stdout, stderr }); });
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const name = /^added (\S+), listed as `ip netns list` lists it: true$/m.exec(r.stdout)?.[1];
    expect(name).toMatch(/^ksock-example-\d+$/);
    expect(r.stdout).toContain('lo up inside the namespace: acknowledged');
    expect(r.stdout).toMatch(/received "hello from inside" on 127\.0\.0\.1:\d+ in ksock-example-/);
    expect(r.stdout).toContain(`ip_forward: 1 inside, ${readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()} in the host`);
    expect(r.stdout).toContain('interfaces inside: lo\n');
    expect(r.stdout).toContain(`deleted ${name}: gone`);
    expect(await ipList()).not.toContain(name);
  });

  it('many sockets in a row: each helper thread is gone, every thread stays in the host namespace', async () => {
    const a = name('m');
    netns.add(a);
    const before = readdirSync('/proc/self/task').length;
    for (let i = 0; i < 100; i++) await netns.socket(a, 'AF_INET', 'SOCK_DGRAM').close();
    expect(readdirSync('/proc/self/task').length).toBe(before);
    expect(new Set(threadNamespaces())).toEqual(new Set([hostNs]));
  });
});
