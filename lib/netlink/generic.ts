// Generic netlink (NETLINK_GENERIC) over a Netlink session: families are
// looked up by name through the controller (nlctrl, CTRL_CMD_GETFAMILY), and a
// family's messages are a genlmsghdr, the family's own fixed header (if it has
// one: hdrsize bytes), then attributes in the same codec as everything else.
import { constants as c } from '../constants';
import { SocketError } from '../errors';
import { AttrTable, Struct, align4, decodeAttrs, encodeAttrs, type Attrs, type NlMsg } from './codec';
import { Netlink, NetlinkError, type NetlinkOptions, type RequestOptions } from './socket';

const C = c as Readonly<Record<string, number | undefined>>;
const GENL_ID_CTRL = C.GENL_ID_CTRL ?? 0x10;
const CTRL_CMD_GETFAMILY = C.CTRL_CMD_GETFAMILY ?? 3;
const NLMSG_ERROR = C.NLMSG_ERROR ?? 2, NLMSG_DONE = C.NLMSG_DONE ?? 3;
const GENL_NAMSIZ = C.GENL_NAMSIZ ?? 16;
/** The controller's own version, as iproute2's genl sends it. */
const CTRL_VERSION = 1;

/** The fields of a `struct genlmsghdr`. */
export interface GenlMsgHdr extends Record<string, number> {
  /** The family's command (CTRL_CMD_GETFAMILY, ETHTOOL_MSG_LINKSTATE_GET …). */
  cmd: number;
  /** The family's interface version. */
  version: number;
  /** Always 0. */
  reserved: number;
}

/** `struct genlmsghdr`: cmd u8, version u8, reserved u16 (4 bytes, before any family header). */
export const genlmsghdr = new Struct<GenlMsgHdr>('genlmsghdr', [['cmd', 'u8'], ['version', 'u8'], ['reserved', 'u16']]);

/** GENL_HDRLEN: the size of a genlmsghdr. */
export const GENL_HDRLEN = genlmsghdr.size;

/** The attributes of one operation in CTRL_ATTR_OPS. */
export const ctrlOpAttrs = new AttrTable('CTRL_ATTR_OP', {
  CTRL_ATTR_OP_ID: 'u32',
  CTRL_ATTR_OP_FLAGS: 'u32',
});

/** The attributes of one multicast group in CTRL_ATTR_MCAST_GROUPS. */
export const ctrlMcastGrpAttrs = new AttrTable('CTRL_ATTR_MCAST_GRP', {
  CTRL_ATTR_MCAST_GRP_NAME: 'string',
  CTRL_ATTR_MCAST_GRP_ID: 'u32',
});

/** The controller's (nlctrl's) attributes: a family's id, name, version, sizes, operations and groups. */
export const ctrlAttrs = new AttrTable('CTRL_ATTR', {
  CTRL_ATTR_FAMILY_ID: 'u16',
  CTRL_ATTR_FAMILY_NAME: 'string',
  CTRL_ATTR_VERSION: 'u32',
  CTRL_ATTR_HDRSIZE: 'u32',
  CTRL_ATTR_MAXATTR: 'u32',
  CTRL_ATTR_OPS: { kind: 'array', element: { kind: 'nested', nested: ctrlOpAttrs } },
  CTRL_ATTR_MCAST_GROUPS: { kind: 'array', element: { kind: 'nested', nested: ctrlMcastGrpAttrs } },
});

/** A generic netlink family as the controller describes it (what `genl ctrl get name NAME` prints). */
export interface GenlFamily {
  /** The family id: the nlmsg_type of its messages. */
  id: number;
  /** Its name ("nlctrl", "ethtool", "devlink" …). */
  name: string;
  /** Its interface version. */
  version: number;
  /** The size of its own fixed header after the genlmsghdr (usually 0). */
  hdrsize: number;
  /** Its highest attribute type (0 when its operations have policies of their own). */
  maxattr: number;
  /** Its operations: the command id and GENL_* capability flags (GENL_CMD_CAP_DO, _DUMP, _HASPOL, GENL_ADMIN_PERM …). */
  ops: Array<{ id: number; flags: number }>;
  /** Its multicast groups: name and the group id to join. */
  groups: Array<{ name: string; id: number }>;
}

/** One generic netlink message, decoded. */
export interface GenlMessage {
  /** nlmsg_type: the family id. */
  type: number;
  /** genlmsghdr.cmd. */
  cmd: number;
  /** genlmsghdr.version. */
  version: number;
  /** The family's fixed header (hdrsize bytes), when it has one. */
  header?: Buffer;
  /** The attributes, by the names of the table given (unknown types by number). */
  attrs: Attrs;
  /** nlmsg_flags (NLM_F_MULTI in a dump …). */
  flags: number;
  /** nlmsg_seq: the request's sequence number (a notification's is 0 or the family's own count). */
  seq: number;
  /** nlmsg_pid: 0 when the kernel sent it on its own behalf. */
  pid: number;
}

/** Options of one generic netlink request or dump. */
export interface GenlRequestOptions extends RequestOptions {
  /** genlmsghdr.version (default: the family's version). */
  version?: number;
  /** The family's fixed header bytes (hdrsize), when it has one (default: zeros). */
  header?: Buffer;
}

/** The kernel's error, named after what was asked (`ethtool command 6`) instead of the family's message type number. */
function renamed(e: unknown, request: string, otherwise?: string): unknown {
  if (!(e instanceof NetlinkError)) return e;
  const r = new NetlinkError({ errno: e.errno, message: e.extack, offset: e.offset }, request);
  if (e.extack === undefined && otherwise !== undefined) r.message = `${request} ${r.code}: ${otherwise}`;
  return r;
}

function checkCmd(cmd: unknown): number {
  if (typeof cmd !== 'number' || !Number.isInteger(cmd)) throw new TypeError('a generic netlink command must be an integer');
  if (cmd < 0 || cmd > 0xff) throw new RangeError(`a generic netlink command is 0..255, not ${cmd}`);
  return cmd;
}

function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string`);
  if (name.length === 0 || name.includes('\0')) throw new TypeError(`${what} must be a non-empty string without NUL`);
  // GENL_NAMSIZ includes the NUL; the kernel would answer a longer name with EINVAL.
  if (Buffer.byteLength(name) >= GENL_NAMSIZ) throw new RangeError(`${what} is at most ${GENL_NAMSIZ - 1} bytes: ${JSON.stringify(name)}`);
  return name;
}

function checkSession(nl: unknown): Netlink {
  if (!(nl instanceof Netlink)) throw new TypeError('a Netlink session (Netlink.open("NETLINK_GENERIC")) is required');
  if (nl.protocol !== (C.NETLINK_GENERIC ?? 16)) throw new TypeError('generic netlink needs a NETLINK_GENERIC session');
  return nl;
}

/** The genlmsghdr (and family header) bytes, then the encoded attributes. */
function encodeGenl(cmd: number, version: number, hdrsize: number, header: Buffer | undefined, attrs: Record<string, unknown>, table: AttrTable | undefined): Buffer[] {
  const h = Buffer.alloc(GENL_HDRLEN);
  genlmsghdr.encode({ cmd, version, reserved: 0 }, h);
  const parts: Buffer[] = [h];
  if (hdrsize > 0 || header !== undefined) {
    if (header !== undefined && !Buffer.isBuffer(header)) throw new TypeError('header must be a Buffer');
    if (header !== undefined && header.length !== hdrsize) throw new RangeError(`this family's header is ${hdrsize} bytes, not ${header.length}`);
    const fam = Buffer.alloc(align4(hdrsize));
    header?.copy(fam);
    parts.push(fam);
  }
  parts.push(encodeAttrs(attrs, table));
  return parts;
}

/**
 * Decodes a generic netlink message: its genlmsghdr, the family's fixed
 * header (`hdrsize` bytes), then attributes by `table`. A message shorter
 * than its headers is a RangeError.
 */
export function decodeGenl(m: NlMsg, table?: AttrTable, hdrsize = 0): GenlMessage {
  if (!Number.isInteger(hdrsize) || hdrsize < 0 || hdrsize > 0xffff) throw new RangeError('hdrsize must be 0..65535');
  const d = m.data;
  const at = GENL_HDRLEN + align4(hdrsize);
  if (d.length < GENL_HDRLEN + hdrsize) throw new RangeError(`generic netlink message of ${d.length} bytes: shorter than its headers`);
  const h = genlmsghdr.decode(d, 0, d.length);
  const out: GenlMessage = {
    type: m.type, cmd: h.cmd, version: h.version,
    attrs: decodeAttrs(d, Math.min(at, d.length), d.length, table),
    flags: m.flags, seq: m.seq, pid: m.pid,
  };
  if (hdrsize > 0) out.header = Buffer.from(d.subarray(GENL_HDRLEN, GENL_HDRLEN + hdrsize));
  return out;
}

/** A family's description from the controller's attributes. */
function familyOf(a: Attrs): GenlFamily {
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const list = (v: unknown): Attrs[] => (Array.isArray(v) ? v.filter((x): x is Attrs => typeof x === 'object' && x !== null && !Buffer.isBuffer(x) && !Array.isArray(x)) : []);
  return {
    id: num(a.CTRL_ATTR_FAMILY_ID),
    name: typeof a.CTRL_ATTR_FAMILY_NAME === 'string' ? a.CTRL_ATTR_FAMILY_NAME : '',
    version: num(a.CTRL_ATTR_VERSION),
    hdrsize: num(a.CTRL_ATTR_HDRSIZE),
    maxattr: num(a.CTRL_ATTR_MAXATTR),
    ops: list(a.CTRL_ATTR_OPS).map((o) => ({ id: num(o.CTRL_ATTR_OP_ID), flags: num(o.CTRL_ATTR_OP_FLAGS) })),
    groups: list(a.CTRL_ATTR_MCAST_GROUPS).map((g) => ({
      name: typeof g.CTRL_ATTR_MCAST_GRP_NAME === 'string' ? g.CTRL_ATTR_MCAST_GRP_NAME : '',
      id: num(g.CTRL_ATTR_MCAST_GRP_ID),
    })),
  };
}

/**
 * Looks a family up by name (CTRL_CMD_GETFAMILY) on a NETLINK_GENERIC
 * session: its id, version, header size, operations and multicast groups. A
 * family this kernel does not have rejects with a NetlinkError ENOENT.
 */
export async function resolveFamily(nl: Netlink, name: string, o: RequestOptions = {}): Promise<GenlFamily> {
  checkSession(nl);
  checkName(name, 'family name');
  const payload = encodeGenl(CTRL_CMD_GETFAMILY, CTRL_VERSION, 0, undefined, { CTRL_ATTR_FAMILY_NAME: name }, ctrlAttrs);
  let replies: NlMsg[];
  try {
    replies = await nl.request(GENL_ID_CTRL, payload, o);
  } catch (e) {
    throw renamed(e, 'CTRL_CMD_GETFAMILY', `no generic netlink family ${JSON.stringify(name)}`);
  }
  for (const m of replies) {
    if (m.type !== GENL_ID_CTRL) continue;
    const f = familyOf(decodeGenl(m, ctrlAttrs).attrs);
    if (f.name === name) return f;
  }
  throw new SocketError(C.EPROTO ?? 71, 'CTRL_CMD_GETFAMILY', undefined, `CTRL_CMD_GETFAMILY EPROTO: the controller answered without family ${JSON.stringify(name)}`);
}

/**
 * Every family this kernel has registered (a CTRL_CMD_GETFAMILY dump, what
 * `genl ctrl list` prints), in the controller's order, streamed.
 */
export function listFamilies(nl: Netlink, o: RequestOptions = {}): AsyncGenerator<GenlFamily> {
  checkSession(nl);
  const payload = encodeGenl(CTRL_CMD_GETFAMILY, CTRL_VERSION, 0, undefined, {}, ctrlAttrs);
  return familiesOf(nl, payload, o);
}

async function* familiesOf(nl: Netlink, payload: Buffer[], o: RequestOptions): AsyncGenerator<GenlFamily> {
  for await (const m of nl.dump(GENL_ID_CTRL, payload, o)) {
    if (m.type !== GENL_ID_CTRL) continue;
    yield familyOf(decodeGenl(m, ctrlAttrs).attrs);
  }
}

/** How to open a generic netlink family. */
export interface GenericNetlinkOptions extends NetlinkOptions {
  /** The attribute table of the family's messages, used when a call gives none. */
  attrs?: AttrTable;
  /** Multicast groups of the family to join at once, by name (see `joinGroup`). */
  mcastGroups?: ReadonlyArray<string>;
}

function isPlainOptions(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !(v instanceof AttrTable) && !Array.isArray(v);
}

/**
 * One generic netlink family on a session of its own: opened by name
 * (`await GenericNetlink.open('ethtool')`), it remembers the family's id,
 * version and groups, adds the genlmsghdr to what it sends and decodes what
 * it receives to `{ cmd, version, attrs }`.
 */
export class GenericNetlink {
  /** The family, as the controller described it when it was opened. */
  readonly family: GenlFamily;
  /** The underlying NETLINK_GENERIC session. */
  readonly netlink: Netlink;
  /** The attribute table used when a call gives none. */
  readonly attrs: AttrTable | undefined;

  private constructor(nl: Netlink, family: GenlFamily, attrs: AttrTable | undefined) {
    this.netlink = nl;
    this.family = family;
    this.attrs = attrs;
  }

  /**
   * Opens a NETLINK_GENERIC session and resolves the family `name` on it. A
   * family the kernel lacks rejects with a NetlinkError ENOENT (and the
   * session is closed).
   */
  static async open(name: string, o: GenericNetlinkOptions = {}): Promise<GenericNetlink> {
    checkName(name, 'family name');
    if (typeof o !== 'object' || o === null) throw new TypeError('GenericNetlink.open: options must be an object');
    if (o.attrs !== undefined && !(o.attrs instanceof AttrTable)) throw new TypeError('GenericNetlink.open: attrs must be an AttrTable');
    if (o.mcastGroups !== undefined && !Array.isArray(o.mcastGroups)) throw new TypeError('GenericNetlink.open: mcastGroups must be an array of group names');
    const { attrs, mcastGroups, ...nlo } = o;
    const nl = Netlink.open(C.NETLINK_GENERIC ?? 16, nlo);
    try {
      const fam = await resolveFamily(nl, name);
      const g = new GenericNetlink(nl, fam, attrs);
      for (const grp of mcastGroups ?? []) g.joinGroup(grp);
      return g;
    } catch (e) {
      await nl.close();
      throw e;
    }
  }

  /** Picks the table and options from `(table?, options?)` or `(options)`. */
  private args(table: unknown, o: unknown, what: string): [AttrTable | undefined, GenlRequestOptions] {
    if (o === undefined && isPlainOptions(table)) return [this.attrs, table as GenlRequestOptions];
    if (table !== undefined && table !== null && !(table instanceof AttrTable)) throw new TypeError(`${what}: table must be an AttrTable`);
    if (o !== undefined && (typeof o !== 'object' || o === null)) throw new TypeError(`${what}: options must be an object`);
    return [(table as AttrTable | null | undefined) ?? this.attrs, (o ?? {}) as GenlRequestOptions];
  }

  private payload(cmd: number, attrs: Record<string, unknown>, table: AttrTable | undefined, o: GenlRequestOptions): Buffer[] {
    checkCmd(cmd);
    let version = this.family.version;
    if (o.version !== undefined) {
      if (typeof o.version !== 'number' || !Number.isInteger(o.version)) throw new TypeError('version must be an integer');
      if (o.version < 0 || o.version > 0xff) throw new RangeError(`version is 0..255, not ${o.version}`);
      version = o.version;
    }
    if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs) || Buffer.isBuffer(attrs)) throw new TypeError('attrs must be an object of attributes');
    return encodeGenl(cmd, version, this.family.hdrsize, o.header, attrs, table);
  }

  /**
   * Sends command `cmd` with `attrs` (encoded by `table`, or the family's
   * table) and resolves with the decoded replies once the kernel
   * acknowledges it. An error answer rejects with a NetlinkError carrying the
   * extended-ack text.
   */
  async request(cmd: number, attrs: Record<string, unknown> = {}, table?: AttrTable | GenlRequestOptions, o?: GenlRequestOptions): Promise<GenlMessage[]> {
    const [t, opts] = this.args(table, o, 'request');
    const payload = this.payload(cmd, attrs, t, opts);
    const { version: _v, header: _h, ...ro } = opts;
    let replies: NlMsg[];
    try {
      replies = await this.netlink.request(this.family.id, payload, ro);
    } catch (e) {
      throw renamed(e, `${this.family.name} command ${cmd}`);
    }
    return replies.filter((m) => m.type === this.family.id).map((m) => decodeGenl(m, t, this.family.hdrsize));
  }

  /**
   * Dumps command `cmd` (NLM_F_DUMP): yields each decoded message until the
   * kernel's NLMSG_DONE. Breaking out early drains the rest before the
   * session's next request.
   */
  dump(cmd: number, attrs: Record<string, unknown> = {}, table?: AttrTable | GenlRequestOptions, o?: GenlRequestOptions): AsyncGenerator<GenlMessage> {
    const [t, opts] = this.args(table, o, 'dump');
    const payload = this.payload(cmd, attrs, t, opts);
    const { version: _v, header: _h, ...ro } = opts;
    return this.dumped(cmd, payload, t, ro);
  }

  private async *dumped(cmd: number, payload: Buffer[], t: AttrTable | undefined, ro: RequestOptions): AsyncGenerator<GenlMessage> {
    const it = this.netlink.dump(this.family.id, payload, ro);
    try {
      for (;;) {
        let r: IteratorResult<NlMsg>;
        try {
          r = await it.next();
        } catch (e) {
          throw renamed(e, `${this.family.name} command ${cmd} dump`);
        }
        if (r.done) return;
        if (r.value.type !== this.family.id) continue;
        yield decodeGenl(r.value, t, this.family.hdrsize);
      }
    } finally {
      await it.return?.();
    }
  }

  /** The id of the family's multicast group `name`; a TypeError for a group the family does not have. */
  groupId(name: string): number {
    if (typeof name !== 'string') throw new TypeError('a multicast group name must be a string');
    const g = this.family.groups.find((x) => x.name === name);
    if (!g) {
      const known = this.family.groups.map((x) => x.name).join(', ') || 'none';
      throw new TypeError(`family ${this.family.name} has no multicast group ${JSON.stringify(name)} (it has: ${known})`);
    }
    return g.id;
  }

  /** Joins the family's multicast group `name` (e.g. ethtool's "monitor"), for `notifications()`; returns its id. */
  joinGroup(name: string): number {
    const id = this.groupId(name);
    this.netlink.join(id);
    return id;
  }

  /** Leaves the family's multicast group `name`. */
  leaveGroup(name: string): void {
    this.netlink.leave(this.groupId(name));
  }

  /**
   * The family's notifications from the joined groups, decoded by `table`
   * (or the family's table), until the session closes or `signal` aborts.
   */
  notifications(o: { signal?: AbortSignal; table?: AttrTable } = {}): AsyncGenerator<GenlMessage> {
    if (typeof o !== 'object' || o === null) throw new TypeError('notifications: options must be an object');
    if (o.table !== undefined && !(o.table instanceof AttrTable)) throw new TypeError('notifications: table must be an AttrTable');
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('notifications: signal must be an AbortSignal');
    return this.notified(o.table ?? this.attrs, o.signal);
  }

  private async *notified(t: AttrTable | undefined, signal: AbortSignal | undefined): AsyncGenerator<GenlMessage> {
    for await (const m of this.netlink.notifications({ signal })) {
      if (m.type !== this.family.id || m.type === NLMSG_ERROR || m.type === NLMSG_DONE) continue;
      if (m.data.length < GENL_HDRLEN + this.family.hdrsize) continue;
      yield decodeGenl(m, t, this.family.hdrsize);
    }
  }

  /** Closes the session; pending requests reject with EBADF. */
  async close(): Promise<void> {
    await this.netlink.close();
  }

  /** `await using g = await GenericNetlink.open('ethtool')` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
