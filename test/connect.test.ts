// soconnect: returns at once; completion is observed through so_timeo, as the
// man page's consumers do (tsleep in a loop, re-testing the state).
import { describe, expect, it } from 'vitest';
import { k, mk, bound, local, until } from './helpers';

describe('soconnect', () => {
  it('to a listener ends SS_ISCONNECTED, observed through a tsleep(so_timeo) loop', async () => {
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    expect(k.solisten(l, 1)).toBe(0);
    const c = mk(k.AF_INET, k.SOCK_STREAM);
    expect(k.soconnect(c, local(l))).toBe(0);
    // The canonical kernel loop: while connecting and no error, sleep.
    let loops = 0;
    while ((c.so_state & k.SS_ISCONNECTING) && c.so_error === 0 && loops++ < 50) {
      const r = await k.tsleep(c.so_timeo, 'connec', 1000);
      expect([0, k.EWOULDBLOCK]).toContain(r);
    }
    expect(c.so_error).toBe(0);
    expect(c.so_state & k.SS_ISCONNECTING).toBe(0);
    expect(c.so_state & k.SS_ISCONNECTED).toBe(k.SS_ISCONNECTED);
    expect(c.stateNames()).toContain('SS_ISCONNECTED');
    expect(c._remote()).toMatchObject(local(l));
    k.soclose(c);
    k.soclose(l);
  });

  it('to a closed port ends with so_error = ECONNREFUSED and SS_ISCONNECTING cleared', async () => {
    // A port that was just bound and released: nothing listens there.
    const tmp = bound(k.AF_INET, k.SOCK_STREAM);
    const dead = local(tmp);
    k.soclose(tmp);
    const c = mk(k.AF_INET, k.SOCK_STREAM);
    const r = k.soconnect(c, dead);
    if (r === 0) {
      let loops = 0;
      while ((c.so_state & k.SS_ISCONNECTING) && c.so_error === 0 && loops++ < 50) {
        await k.tsleep(c.so_timeo, 'connec', 1000);
      }
      expect(c.so_error).toBe(k.constants.ECONNREFUSED);
    } else {
      expect(r).toBe(k.constants.ECONNREFUSED);
    }
    expect(c.so_state & k.SS_ISCONNECTING).toBe(0);
    expect(c.so_state & k.SS_ISCONNECTED).toBe(0);
    // Reading SO_ERROR returns the error once, then 0.
    if (r === 0) {
      const sopt = new k.Sockopt();
      k.sockopt_init(sopt, k.SOL_SOCKET, k.constants.SO_ERROR!, 4);
      expect(k.sogetopt(c, sopt)).toBe(0);
      const v = { value: -1 };
      expect(k.sockopt_getint(sopt, v)).toBe(0);
      expect(v.value).toBe(k.constants.ECONNREFUSED);
      expect(c.so_error).toBe(0);
      expect(k.sogetopt(c, sopt)).toBe(0);
      k.sockopt_getint(sopt, v);
      expect(v.value).toBe(0);
    }
    k.soclose(c);
  });

  it('a second soconnect while connecting says EALREADY; a connected stream says EISCONN', async () => {
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    k.solisten(l, 1);
    const c = mk(k.AF_INET, k.SOCK_STREAM);
    expect(k.soconnect(c, local(l))).toBe(0);
    if (c.so_state & k.SS_ISCONNECTING) expect(k.soconnect(c, local(l))).toBe(k.EALREADY);
    await until(c, () => (c.so_state & k.SS_ISCONNECTED) !== 0);
    expect(k.soconnect(c, local(l))).toBe(k.EISCONN);
    k.soclose(c);
    k.soclose(l);
  });

  it('connecting a datagram socket to AF_UNSPEC dissolves its association', () => {
    const a = bound(k.AF_INET, k.SOCK_DGRAM);
    const c = mk(k.AF_INET, k.SOCK_DGRAM);
    expect(k.soconnect(c, local(a))).toBe(0);
    expect(c._remote()).toMatchObject(local(a));
    expect(k.soconnect(c, { family: k.AF_UNSPEC })).toBe(0);
    expect(c.so_state & k.SS_ISCONNECTED).toBe(0);
    expect(c._remote()).toBeNull();
    expect(k.sosend(c, null, null, Buffer.from('x'), null, k.MSG_DONTWAIT)).toBe(k.EDESTADDRREQ);
    k.soclose(a);
    k.soclose(c);
  });

  it('a datagram socket connects at once and can be re-connected', () => {
    const a = bound(k.AF_INET, k.SOCK_DGRAM);
    const b = bound(k.AF_INET, k.SOCK_DGRAM);
    const c = mk(k.AF_INET, k.SOCK_DGRAM);
    expect(k.soconnect(c, local(a))).toBe(0);
    expect(c.so_state & k.SS_ISCONNECTED).toBeTruthy();
    expect(k.soconnect(c, local(b))).toBe(0);
    expect(c._remote()).toMatchObject(local(b));
    for (const so of [a, b, c]) k.soclose(so);
  });

  it('a listener refuses soconnect and solisten refuses a connected socket (EINVAL)', async () => {
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    k.solisten(l, 1);
    const c = mk(k.AF_INET, k.SOCK_STREAM);
    k.soconnect(c, local(l));
    await until(c, () => (c.so_state & k.SS_ISCONNECTED) !== 0);
    expect(k.solisten(c, 1)).toBe(k.EINVAL);
    k.soclose(c);
    k.soclose(l);
  });

  it('upcalls fire when a connect completes', async () => {
    const l = bound(k.AF_INET, k.SOCK_STREAM);
    k.solisten(l, 1);
    const c = mk(k.AF_INET, k.SOCK_STREAM);
    const seen: number[] = [];
    k.soupcall_set(c, k.SO_SND, (so) => {
      seen.push(so.so_state);
      k.soupcall_clear(so, k.SO_SND);
      return k.SU_OK;
    });
    k.soconnect(c, local(l));
    await until(c, () => seen.length > 0);
    expect(seen[0]! & k.SS_ISCONNECTED).toBeTruthy();
    k.soclose(c);
    k.soclose(l);
  });
});
