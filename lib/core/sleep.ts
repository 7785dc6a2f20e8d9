// Sleep channels: tsleep(9)/wakeup(9) for a program that must never block.
//
// Any object is a channel (the kernel sleeps on an address). "Sleeping" is
// awaiting a Promise; wakeup() resolves every sleeper of the channel. As in
// the kernel, sleep/wakeup has no memory: a sleeper re-tests its condition in
// a loop. The test and the registration happen in the same synchronous turn,
// so no wakeup can fall between them.
import { EWOULDBLOCK } from '../constants';

interface Sleeper { resolve(v: number): void; timer?: NodeJS.Timeout; wmesg: string }

const channels = new WeakMap<object, Set<Sleeper>>();

/** A sleep channel: an object to sleep on, with a name for debugging. */
export class Channel {
  constructor(readonly name: string) {}
  /** Number of sleepers on this channel now. */
  get sleepers(): number {
    return channels.get(this)?.size ?? 0;
  }
}

/**
 * Sleeps on `chan` until `wakeup(chan)` (resolves 0) or for at most `timo`
 * milliseconds (resolves EWOULDBLOCK); `timo` 0 means no limit.
 * @see tsleep(9)
 */
export function tsleep(chan: object, wmesg: string, timo: number): Promise<number> {
  if (typeof chan !== 'object' || chan === null) throw new TypeError('tsleep: chan must be an object');
  if (typeof wmesg !== 'string') throw new TypeError('tsleep: wmesg must be a string');
  if (typeof timo !== 'number' || !(timo >= 0) || !Number.isFinite(timo)) {
    throw new RangeError('tsleep: timo must be a finite number of milliseconds >= 0');
  }
  let set = channels.get(chan);
  if (set === undefined) {
    set = new Set();
    channels.set(chan, set);
  }
  const s = set;
  return new Promise<number>((resolve) => {
    const sleeper: Sleeper = { resolve, wmesg };
    if (timo > 0) {
      sleeper.timer = setTimeout(() => {
        s.delete(sleeper);
        resolve(EWOULDBLOCK);
      }, timo);
    }
    s.add(sleeper);
  });
}

/** Wakes every sleeper of `chan`. @see wakeup(9) */
export function wakeup(chan: object): void {
  const set = channels.get(chan);
  if (set === undefined || set.size === 0) return;
  const all = [...set];
  set.clear();
  for (const s of all) {
    if (s.timer) clearTimeout(s.timer);
    s.resolve(0);
  }
}

/** Wakes the longest-sleeping sleeper of `chan`. @see wakeup_one(9) */
export function wakeup_one(chan: object): void {
  const set = channels.get(chan);
  if (set === undefined) return;
  for (const s of set) {
    set.delete(s);
    if (s.timer) clearTimeout(s.timer);
    s.resolve(0);
    return;
  }
}
