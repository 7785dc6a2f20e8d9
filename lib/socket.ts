// The idiomatic face on the shared Socket object: methods that throw
// SocketError. They are built on the kernel face, so its validation and the
// struct socket mirrors hold whichever face a program uses.
import { Socket } from './core/socket';
import { SocketError } from './errors';
import {
  Sockopt, sockopt_init, sosetopt, sogetopt,
} from './kern/sockopt';
import {
  type OptValue, decodeOption, encodeOption, optSpec, optionSize, resolveConstant,
} from './options';

declare module './core/socket' {
  interface Socket {
    /**
     * Sets an option, typed by the option table: booleans, integers,
     * `{ onoff, linger }`, `{ sec, usec }` (or milliseconds), `{ multiaddr,
     * interface | ifindex }` … or a raw Buffer for anything not in the table.
     * `level` and `name` are numbers or constant names ('SOL_SOCKET').
     * @throws SocketError on an OS failure; TypeError/RangeError on a bad value.
     */
    setsockopt(level: number | string, name: number | string, value: OptValue): void;
    /**
     * Gets an option, decoded by the option table (a Buffer for anything not
     * in it). Getting SO_ERROR returns and clears the pending error.
     * @throws SocketError on an OS failure.
     */
    getsockopt(level: number | string, name: number | string): OptValue;
  }
}

Socket.prototype.setsockopt = function setsockopt(this: Socket, level: number | string, name: number | string, value: OptValue): void {
  const lv = resolveConstant(level, 'level');
  const nm = resolveConstant(name, 'name');
  const spec = optSpec(lv, nm);
  if (spec?.readonly) throw new TypeError(`${spec.optName} is read-only`);
  const buf = encodeOption(spec, value);
  const sopt = new Sockopt();
  sockopt_init(sopt, lv, nm, buf.length);
  if (buf.length > 0) buf.copy(sopt.sopt_data!);
  const e = sosetopt(this, sopt);
  if (e !== 0) throw new SocketError(e, 'setsockopt');
};

Socket.prototype.getsockopt = function getsockopt(this: Socket, level: number | string, name: number | string): OptValue {
  const lv = resolveConstant(level, 'level');
  const nm = resolveConstant(name, 'name');
  const spec = optSpec(lv, nm);
  const sopt = new Sockopt();
  sockopt_init(sopt, lv, nm, optionSize(spec));
  const e = sogetopt(this, sopt);
  if (e !== 0) throw new SocketError(e, 'getsockopt');
  return decodeOption(spec, sopt.sopt_data!, Math.min(sopt.sopt_retsize, sopt.sopt_size));
};

export { Socket };
