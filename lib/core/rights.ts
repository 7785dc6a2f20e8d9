// Ownership of received descriptors.
//
// A received SCM_RIGHTS item owns its descriptors until they are claimed:
// reading `item.fds` claims them (the caller now owns those numbers). An item
// that is dropped unclaimed has its descriptors closed by the garbage
// collector; `item.close()` closes unclaimed ones at once.
import { native, type Cmsg } from '../native';
import { SOL_SOCKET, constants } from '../constants';

interface Held { fds: number[]; claimed: boolean }

const registry = new FinalizationRegistry<Held>((h) => {
  if (h.claimed) return;
  h.claimed = true;
  for (const fd of h.fds) native.close(fd);
});

const SCM_RIGHTS = constants.SCM_RIGHTS!;

/** A received SCM_RIGHTS item. */
export interface RightsCmsg extends Cmsg {
  /** The descriptors, in order. Reading this claims them: closing them is then the caller's job. */
  readonly fds: number[];
  /** True once `fds` was read or `close()` was called. */
  readonly claimed: boolean;
  /** Closes the descriptors if they were never claimed; returns how many it closed. */
  close(): number;
}

/** @internal gives every SCM_RIGHTS item of a received list its ownership. */
export function ownRights(items: Cmsg[]): void {
  for (const item of items) {
    if (item.level !== SOL_SOCKET || item.type !== SCM_RIGHTS || !Array.isArray(item.fds)) continue;
    const held: Held = { fds: item.fds, claimed: false };
    Object.defineProperties(item, {
      fds: {
        enumerable: true,
        configurable: true,
        get() {
          if (!held.claimed) {
            held.claimed = true;
            registry.unregister(held);
          }
          return held.fds;
        },
      },
      claimed: { enumerable: false, configurable: true, get: () => held.claimed },
      close: {
        enumerable: false,
        configurable: true,
        value: (): number => {
          if (held.claimed) return 0;
          held.claimed = true;
          registry.unregister(held);
          for (const fd of held.fds) native.close(fd);
          return held.fds.length;
        },
      },
    });
    registry.register(item, held, held);
  }
}
