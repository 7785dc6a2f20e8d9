// Objects V8 can read at full speed.
//
// A module's exports built by TypeScript's CommonJS output are getters
// (`export *`, `export { x } from`), and an object given hundreds of
// properties one at a time, like the addon's exports, is kept by V8 as a hash
// table: every `k.soreceive(…)` or `native.recvmsg(…)` then costs a getter
// call or a dictionary lookup that optimized code cannot inline. fastObject
// copies the values into a plain object and has V8 turn it into a fast one.

/**
 * @internal `src`'s properties (its own and those it inherits, short of
 * Object.prototype) as plain data properties of a new object in V8's fast mode.
 */
export function fastObject<T extends object>(src: T): T {
  const o: Record<string, unknown> = {};
  for (let p: object | null = src; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (!(key in o)) o[key] = (src as Record<string, unknown>)[key];
    }
  }
  // V8 makes a prototype fast when a lookup goes through it (the classic
  // "toFastProperties" idiom): one lookup on one instance is enough.
  function Fast(this: object): void {}
  Fast.prototype = o;
  const probe = new (Fast as unknown as new () => Record<string, unknown>)();
  void probe[Object.keys(o)[0] ?? 'constructor'];
  return o as T;
}
