// Argument checks, shared by the faces: each face checks its arguments once,
// in TypeScript, before anything reaches native code (which checks again
// only so that nothing can crash it).
import type { Sockaddr } from '../native';
import { Socket } from './socket';

export function checkSocket(so: unknown, fn: string): asserts so is Socket {
  if (!(so instanceof Socket)) throw new TypeError(`${fn}: so must be a Socket`);
}

export function checkInt(v: unknown, fn: string, what: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${fn}: ${what} must be an integer`);
  if (v < -0x80000000 || v > 0xffffffff) throw new RangeError(`${fn}: ${what} is out of range`);
}

export function checkHolder(h: unknown, fn: string, what: string): void {
  if (h !== null && h !== undefined && (typeof h !== 'object')) {
    throw new TypeError(`${fn}: ${what} must be a { value } holder or null`);
  }
}

export function checkAddr(nam: unknown, fn: string): asserts nam is Sockaddr {
  if (!Buffer.isBuffer(nam) && (typeof nam !== 'object' || nam === null || typeof (nam as { family?: unknown }).family !== 'number')) {
    throw new TypeError(`${fn}: nam must be an address object { family, … } or a sockaddr Buffer`);
  }
}


/** The most Buffers one call takes (the native layer's bound; the kernel takes IOV_MAX per call). */
export const MAX_BUFFERS = 65536;

/**
 * True for an array of Buffers. The length is bounded first (a sparse array
 * of length 2**32-1 is a RangeError at once, not four billion checks).
 */
export function isBufferList(v: unknown, fn: string, max = MAX_BUFFERS): v is Buffer[] {
  if (!Array.isArray(v)) return false;
  if (v.length > max) throw new RangeError(`${fn}: at most ${max} Buffers, not ${v.length}`);
  for (let i = 0; i < v.length; i++) if (!Buffer.isBuffer(v[i])) return false;
  return true;
}
