// sockopt(9), sentence by sentence, and sosetopt/sogetopt over the real kernel.
import { describe, expect, it } from 'vitest';
import { k, mk } from './helpers';

const INT = 4;

describe('sockopt(9)', () => {
  it('a new Sockopt is zeroed; sockopt_init binds one level/name/size, zeroed, int-sized in internal storage', () => {
    const s = new k.Sockopt();
    expect([s.sopt_level, s.sopt_name, s.sopt_size, s.sopt_data]).toEqual([0, 0, 0, null]);
    k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_REUSEADDR!, INT);
    expect([s.sopt_level, s.sopt_name, s.sopt_size]).toEqual([k.SOL_SOCKET, k.constants.SO_REUSEADDR, INT]);
    expect(s.sopt_data!.equals(Buffer.alloc(INT))).toBe(true);
    const first = s.sopt_data!.buffer;
    k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_REUSEADDR!, INT);
    expect(s.sopt_data!.buffer).toBe(first); // internal storage, reused
    k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_LINGER!, 8);
    expect(s.sopt_data!.length).toBe(8);
    expect(s.sopt_data!.buffer).not.toBe(first); // larger: allocated
  });

  it('sockopt_get / sockopt_getint: EINVAL when the size does not match', () => {
    const s = new k.Sockopt();
    k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_LINGER!, 8);
    expect(k.sockopt_get(s, Buffer.alloc(8), 4)).toBe(k.EINVAL);
    expect(k.sockopt_getint(s, { value: 0 })).toBe(k.EINVAL);
    expect(k.sockopt_get(s, Buffer.alloc(8), 8)).toBe(0);
  });

  it('sockopt_set: an unset struct takes the size; a sized one must match (EINVAL)', () => {
    const s = new k.Sockopt();
    expect(k.sockopt_set(s, Buffer.from([1, 2, 3]), 3)).toBe(0);
    expect(s.sopt_size).toBe(3);
    expect(k.sockopt_set(s, Buffer.from([1, 2, 3, 4]), 4)).toBe(k.EINVAL);
    expect(k.sockopt_setint(s, 5)).toBe(k.EINVAL);
    const out = Buffer.alloc(3);
    expect(k.sockopt_get(s, out, 3)).toBe(0);
    expect([...out]).toEqual([1, 2, 3]);
    const t = new k.Sockopt();
    expect(k.sockopt_setint(t, 42)).toBe(0);
    const v = { value: 0 };
    expect(k.sockopt_getint(t, v)).toBe(0);
    expect(v.value).toBe(42);
  });

  it('destroy then re-init works; destroy twice is harmless; FreeBSD names are views of the same state', () => {
    const s = new k.Sockopt();
    k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_RCVBUF!, INT);
    k.sockopt_destroy(s);
    expect([s.sopt_level, s.sopt_name, s.sopt_size, s.sopt_data]).toEqual([0, 0, 0, null]);
    k.sockopt_destroy(s);
    k.sockopt_init(s, k.SOL_SOCKET, k.constants.SO_SNDBUF!, INT);
    expect(s.sopt_valsize).toBe(INT);
    expect(s.sopt_val).toBe(s.sopt_data);
    s.sopt_valsize = 2;
    expect(s.sopt_size).toBe(2);
  });
});

describe('sosetopt / sogetopt', () => {
  const setInt = (so: k.Socket, level: number, name: number, v: number): number => {
    const s = new k.Sockopt();
    k.sockopt_init(s, level, name, INT);
    k.sockopt_setint(s, v);
    return k.sosetopt(so, s);
  };
  const getInt = (so: k.Socket, level: number, name: number): number => {
    const s = new k.Sockopt();
    k.sockopt_init(s, level, name, INT);
    expect(k.sogetopt(so, s)).toBe(0);
    const v = { value: 0 };
    k.sockopt_getint(s, v);
    return v.value;
  };

  it('booleans round-trip and are mirrored in so_options (4.4BSD bits)', () => {
    const so = mk(k.AF_INET, k.SOCK_STREAM);
    expect(setInt(so, k.SOL_SOCKET, k.constants.SO_REUSEADDR!, 1)).toBe(0);
    expect(getInt(so, k.SOL_SOCKET, k.constants.SO_REUSEADDR!)).not.toBe(0);
    expect(so.so_options & k.SO_OPTIONS.SO_REUSEADDR).toBe(k.SO_OPTIONS.SO_REUSEADDR);
    expect(setInt(so, k.SOL_SOCKET, k.constants.SO_REUSEADDR!, 0)).toBe(0);
    expect(so.so_options & k.SO_OPTIONS.SO_REUSEADDR).toBe(0);
    k.soclose(so);
  });

  it('BSD validation before the host: negative buffer size EINVAL, linger out of range EDOM, bad timeval EDOM', () => {
    const so = mk(k.AF_INET, k.SOCK_STREAM);
    expect(setInt(so, k.SOL_SOCKET, k.constants.SO_RCVBUF!, -5)).toBe(k.EINVAL);
    const l = new k.Sockopt();
    k.sockopt_init(l, k.SOL_SOCKET, k.constants.SO_LINGER!, 8);
    l.sopt_data!.writeInt32LE(1, 0);
    l.sopt_data!.writeInt32LE(-1, 4);
    expect(k.sosetopt(so, l)).toBe(k.EDOM);
    l.sopt_data!.writeInt32LE(7, 4);
    expect(k.sosetopt(so, l)).toBe(0);
    expect(so.so_linger).toBe(7);
    expect(so.so_options & k.SO_OPTIONS.SO_LINGER).toBe(k.SO_OPTIONS.SO_LINGER);
    const t = new k.Sockopt();
    k.sockopt_init(t, k.SOL_SOCKET, k.constants.SO_SNDTIMEO!, k.timeval(0, 0).length);
    k.sockopt_set(t, k.timeval(1, 1_000_000), t.sopt_size);
    expect(k.sosetopt(so, t)).toBe(k.EDOM);
    const t2 = new k.Sockopt();
    k.sockopt_init(t2, k.SOL_SOCKET, k.constants.SO_SNDTIMEO!, k.timeval(0, 0).length);
    k.sockopt_set(t2, k.timeval(2, 500_000), t2.sopt_size);
    expect(k.sosetopt(so, t2)).toBe(0);
    expect(so.so_snd.sb_timeo).toBe(2500);
    k.soclose(so);
  });

  it('sogetopt into an unset Sockopt allocates the returned size; into a sized one truncates and reports', () => {
    const so = mk(k.AF_INET, k.SOCK_STREAM);
    const s = new k.Sockopt();
    s.sopt_level = k.SOL_SOCKET;
    s.sopt_name = k.constants.SO_LINGER!;
    expect(k.sogetopt(so, s)).toBe(0);
    expect(s.sopt_size).toBe(8);
    expect(s.sopt_retsize).toBe(8);
    const t = new k.Sockopt();
    k.sockopt_init(t, k.SOL_SOCKET, k.constants.SO_LINGER!, 2);
    expect(k.sogetopt(so, t)).toBe(0);
    expect(t.sopt_size).toBe(2);
    expect(t.sopt_retsize).toBe(8);
    k.soclose(so);
  });

  it('sb_hiwat follows SO_RCVBUF as the kernel reports it', () => {
    const so = mk(k.AF_INET, k.SOCK_DGRAM);
    expect(setInt(so, k.SOL_SOCKET, k.constants.SO_RCVBUF!, 65536)).toBe(0);
    expect(so.so_rcv.sb_hiwat).toBe(getInt(so, k.SOL_SOCKET, k.constants.SO_RCVBUF!));
    expect(so.so_rcv.sb_hiwat).toBeGreaterThanOrEqual(65536);
    k.soclose(so);
  });

  it('an unknown option is the host errno (ENOPROTOOPT), not an exception', () => {
    const so = mk(k.AF_INET, k.SOCK_DGRAM);
    const s = new k.Sockopt();
    k.sockopt_init(s, k.SOL_SOCKET, 99999, INT);
    expect(k.sogetopt(so, s)).toBe(k.constants.ENOPROTOOPT);
    k.soclose(so);
  });

  it('sb_cc counts queued bytes (receive: FIONREAD; send: SIOCOUTQ) and sb_lowat follows SO_RCVLOWAT', async () => {
    const a = mk(k.AF_UNIX, k.SOCK_STREAM), b = mk(k.AF_UNIX, k.SOCK_STREAM);
    k.soconnect2(a, b);
    expect(b.so_rcv.sb_cc).toBe(0);
    expect(await k.sosend(a, null, null, Buffer.alloc(1000, 1), null, 0)).toBe(0);
    expect(b.so_rcv.sb_cc).toBe(1000);
    expect(a.so_snd.sb_cc).toBeGreaterThanOrEqual(0);
    expect(setInt(b, k.SOL_SOCKET, k.constants.SO_RCVLOWAT!, 100)).toBe(0);
    expect(b.so_rcv.sb_lowat).toBe(100);
    expect(k.soreceive(b, null, new k.Uio(Buffer.alloc(400)), null, null, { value: k.MSG_DONTWAIT })).toBe(0);
    expect(b.so_rcv.sb_cc).toBe(600);
    k.soclose(a);
    k.soclose(b);
    expect(b.so_rcv.sb_cc).toBe(0);
  });
});
