// Ownership of received descriptors.
//
// A received SCM_RIGHTS item owns its descriptors until they are claimed:
// reading `item.fds` claims them (the caller now owns those numbers). An item
// that is dropped unclaimed has its descriptors closed by the garbage
// collector; `item.close()` closes unclaimed ones at once.
import { native, type Cmsg } from '../native';
import { SOL_SOCKET, constants } from '../constants';
import { writeHostInt } from './socket';

interface Held { fds: number[]; claimed: boolean }

const registry = new FinalizationRegistry<Held>((h) => {
  if (h.claimed) return;
  h.claimed = true;
  for (const fd of h.fds) native.close(fd);
});

const SCM_RIGHTS = constants.SCM_RIGHTS!;

/** A received SCM_RIGHTS item. */
export class RightsCmsg implements Cmsg {
  [field: string]: unknown;
  readonly level: number;
  readonly type: number;
  readonly #held: Held;
  #data: Buffer | undefined;

  /** @internal made by soreceive */
  constructor(level: number, type: number, fds: number[], data: Buffer | undefined) {
    this.level = level;
    this.type = type;
    this.#held = { fds, claimed: false };
    this.#data = data;
    registry.register(this, this.#held, this.#held);
  }

  /** The descriptors, in order. Reading this claims them: closing them is then the caller's job. */
  get fds(): number[] {
    const h = this.#held;
    if (!h.claimed) {
      h.claimed = true;
      registry.unregister(h);
    }
    return h.fds;
  }

  /** The raw payload (the descriptor numbers as C ints). Reading it claims nothing. */
  get data(): Buffer {
    if (this.#data === undefined) {
      const fds = this.#held.fds;
      const b = Buffer.alloc(fds.length * 4);
      for (let i = 0; i < fds.length; i++) writeHostInt(b, fds[i]!, i * 4);
      this.#data = b;
    }
    return this.#data;
  }

  /** True once `fds` was read or `close()` was called. */
  get claimed(): boolean {
    return this.#held.claimed;
  }

  /** Closes the descriptors if they were never claimed; returns how many it closed. */
  close(): number {
    const h = this.#held;
    if (h.claimed) return 0;
    h.claimed = true;
    registry.unregister(h);
    for (const fd of h.fds) native.close(fd);
    return h.fds.length;
  }

  /** What `util.inspect` and JSON show: the numbers without claiming them. */
  toJSON(): object {
    return { level: this.level, type: this.type, fds: this.#held.fds, claimed: this.#held.claimed };
  }
}

/** @internal gives every SCM_RIGHTS item of a received list its ownership. */
export function ownRights(items: Cmsg[]): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.level !== SOL_SOCKET || item.type !== SCM_RIGHTS || !Array.isArray(item.fds)) continue;
    items[i] = new RightsCmsg(item.level, item.type, item.fds, item.data);
  }
}
