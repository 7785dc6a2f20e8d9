// pidfds: SO_PEERPIDFD typed (a descriptor the caller owns), SO_PASSPIDFD, and
// received SCM_PIDFD items owned like SCM_RIGHTS until claimed. The peer's
// pidfd names a process, as /proc/self/fdinfo says (its "Pid:" line).
import { closeSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';

const c = k.constants;
const have = c.SO_PEERPIDFD !== undefined && c.SCM_PIDFD !== undefined;

function pidOf(fd: number): number {
  return Number(/^Pid:\s+(-?\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]);
}

function kernelHasPidfds(): boolean {
  if (!have) return false;
  const [a, b] = k.Socket.socketpair();
  try {
    closeSync(a.getsockopt('SOL_SOCKET', 'SO_PEERPIDFD') as number);
    return true;
  } catch {
    return false;
  } finally {
    void a.close();
    void b.close();
  }
}

const runs = process.platform === 'linux' && kernelHasPidfds();

describe.runIf(runs)('pidfds (Linux ≥ 6.5; skipped where the headers or the kernel have none)', () => {
  it('SO_PEERPIDFD returns a close-on-exec pidfd of the peer, which the caller owns', async () => {
    const [a, b] = k.Socket.socketpair();
    const fd = a.getsockopt('SOL_SOCKET', 'SO_PEERPIDFD') as number;
    try {
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:[pidfd]');
      expect(pidOf(fd)).toBe(process.pid); // the peer is this process
      const flags = parseInt(/^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      expect(flags & 0o2000000).toBe(0o2000000); // O_CLOEXEC
    } finally {
      closeSync(fd);
    }
    await a.close();
    await b.close();
  });

  it('SCM_PIDFD arrives as an owned item: item.pidfd claims it, item.close() closes it, inspect shows it', async () => {
    const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    b.setsockopt('SOL_SOCKET', 'SO_PASSPIDFD', true);
    a.trySendmsg(Buffer.from('1'));
    a.trySendmsg(Buffer.from('2'));
    const m1 = b.tryRecvmsg({ control: true })!;
    const item = m1.control.find((x) => x.level === k.SOL_SOCKET && x.type === c.SCM_PIDFD) as k.RightsCmsg;
    expect(item).toBeInstanceOf(k.RightsCmsg);
    expect(inspect(item)).toMatch(/fds: \[ \d+ \]/);
    expect(item.claimed).toBe(false);
    const n = item.toJSON() as { fds: number[] };
    expect(readlinkSync(`/proc/self/fd/${n.fds[0]}`)).toBe('anon_inode:[pidfd]');
    expect(item.close()).toBe(1);
    expect(() => readlinkSync(`/proc/self/fd/${n.fds[0]}`)).toThrow(); // closed at once
    const m2 = b.tryRecvmsg({ control: true })!;
    const item2 = m2.control.find((x) => x.type === c.SCM_PIDFD) as k.RightsCmsg;
    const pidfd = item2.pidfd!;
    expect(item2.claimed).toBe(true);
    expect(pidOf(pidfd)).toBe(process.pid);
    expect(item2.close()).toBe(0); // claimed: the caller's now
    closeSync(pidfd);
    await a.close();
    await b.close();
  });

  it('an unclaimed pidfd is closed when its message is collected', async () => {
    const [a, b] = k.Socket.socketpair(k.AF_UNIX, k.SOCK_DGRAM);
    b.setsockopt('SOL_SOCKET', 'SO_PASSPIDFD', true);
    const count = (): number => readdirSync('/proc/self/fd').length;
    const before = count();
    for (let i = 0; i < 20; i++) {
      a.trySendmsg(Buffer.from('x'));
      b.tryRecvmsg({ control: true }); // dropped unclaimed
    }
    expect(count()).toBeGreaterThan(before);
    for (let i = 0; i < 20 && count() > before; i++) {
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(count()).toBe(before);
    await a.close();
    await b.close();
  });
});
