// Names that cannot go wrong: wherever a constant is taken, its name is too,
// checked against the kind of constant the place wants.
import { describe, expect, it } from 'vitest';
import { k } from './helpers';
import * as ksock from '../lib/index';

describe('constants by name', () => {
  it('every platform constant is a named export with the platform value', () => {
    expect(ksock.SCM_RIGHTS).toBe(k.constants.SCM_RIGHTS);
    expect(ksock.IP_PKTINFO).toBe(k.constants.IP_PKTINFO);
    expect(ksock.SO_REUSEPORT).toBe(k.constants.SO_REUSEPORT);
    for (const [name, value] of Object.entries(k.constants)) {
      expect((ksock as unknown as Record<string, unknown>)[name], name).toBe(value);
    }
  });

  it('an option name whose level does not match is a TypeError, never another option of that level', () => {
    const s = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    // IP_PKTINFO has SO_RCVBUF's number at IPPROTO_IP on Linux: a silent mix-up before.
    expect(() => s.setsockopt('IPPROTO_IP', 'SO_RCVBUF', 1)).toThrow(/SO_RCVBUF is not an option of IPPROTO_IP/);
    expect(() => s.setsockopt(k.IPPROTO_IP, 'SO_RCVBUF', 1)).toThrow(TypeError);
    expect(() => s.getsockopt('SOL_SOCKET', 'IP_TTL')).toThrow(/IP_TTL is not an option of SOL_SOCKET/);
    expect(() => s.setsockopt('SOL_SOCKET', 'NO_SUCH_OPTION', 1)).toThrow(/not a constant of this platform/);
    expect(s.getsockopt('IPPROTO_IP', 'IP_PKTINFO')).toBe(false); // the right pair still works
    s.setsockopt('SOL_SOCKET', 'SO_RCVBUF', 8192);
    expect(s.getsockopt('SOL_SOCKET', 'SO_RCVBUF')).toBeGreaterThanOrEqual(8192);
    s.setsockopt(k.IPPROTO_IP, k.constants.IP_TTL!, 9); // numbers are taken as they are
    expect(s.getsockopt('IPPROTO_IP', 'IP_TTL')).toBe(9);
    void s.close();
  });

  it('create, socketpair, shutdown and flags take names', async () => {
    const u = k.Socket.create('AF_INET', 'SOCK_DGRAM', 'IPPROTO_UDP');
    expect([u.so_dom, u.so_type, u.so_proto]).toEqual([k.AF_INET, k.SOCK_DGRAM, k.constants.IPPROTO_UDP]);
    await u.close();
    expect(() => k.Socket.create('SOCK_DGRAM', 'AF_INET')).toThrow(/domain 'SOCK_DGRAM' is not a AF_\* or PF_\* constant/);
    expect(() => k.Socket.create('AF_NOPE', 'SOCK_DGRAM')).toThrow(TypeError);
    const [a, b] = k.Socket.socketpair('AF_UNIX', 'SOCK_DGRAM');
    await a.sendmsg({ data: Buffer.from('peek'), flags: 'MSG_DONTWAIT' });
    const m = await b.recvmsg({ flags: ['MSG_PEEK', 'MSG_DONTWAIT'] });
    expect(m.data.toString()).toBe('peek');
    expect(b.tryRecvmsg()!.data.toString()).toBe('peek'); // the peek left it queued
    expect(() => b.tryRecvmsg({ flags: 'SHUT_RD' })).toThrow(/not a MSG_\* constant/);
    expect(() => a.shutdown('MSG_PEEK')).toThrow(/not a SHUT_\* constant/);
    a.shutdown('SHUT_WR');
    expect(a.stateNames()).toContain('SS_CANTSENDMORE');
    await a.close();
    await b.close();
  });
});
