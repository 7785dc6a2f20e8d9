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

