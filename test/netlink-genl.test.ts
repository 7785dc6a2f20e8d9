// Generic netlink against iproute2's `genl` (and ethtool(8) where installed)
// as the independent peers: family lookups by name, the family list, a
// family's operations and multicast groups, the kernel's errors, one ethtool
// request, and an ethtool notification seen in a network namespace this file
// creates and always removes.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { k, capEff } from './helpers';
import { openFds } from './setup/fd-guard';

const linux = k.constants.NETLINK_GENERIC !== undefined && k.features.af_netlink;
const has = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { timeout: 5000 }).status === 0;
const hasGenl = linux && has('genl', '-V');
const hasIp = linux && has('ip', '-V');
const hasEthtool = linux && has('ethtool', '--version');
const run = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });

const caps = capEff();
const hasCaps = ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n; // CAP_NET_ADMIN, CAP_SYS_ADMIN

/** What `genl ctrl get name X` / `genl ctrl list` print for a family. */
interface GenlText { name: string; id: number; version: number; hdrsize: number; maxattr: number; ops: Array<{ id: number; flags?: number }>; groups: Array<{ name: string; id: number }> }

/** Parses iproute2 genl's ctrl output (one or more "Name:" blocks). */
function parseGenl(text: string): GenlText[] {
  const out: GenlText[] = [];
  let cur: GenlText | null = null;
  let section: 'ops' | 'groups' | null = null;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^Name: (\S+)/.exec(line))) {
      cur = { name: m[1]!, id: -1, version: -1, hdrsize: -1, maxattr: -1, ops: [], groups: [] };
      out.push(cur);
      section = null;
    } else if (!cur) {
      continue;
    } else if ((m = /ID: 0x([0-9a-f]+)\s+Version: 0x([0-9a-f]+)\s+header size: (\d+)\s+max attribs: (\d+)/.exec(line))) {
      cur.id = parseInt(m[1]!, 16); cur.version = parseInt(m[2]!, 16); cur.hdrsize = Number(m[3]); cur.maxattr = Number(m[4]);
    } else if (/commands supported:/.test(line)) {
      section = 'ops';
    } else if (/multicast groups:/.test(line)) {
      section = 'groups';
    } else if (section === 'ops' && (m = /#\d+:\s+ID-0x([0-9a-f]+)/.exec(line))) {
      cur.ops.push({ id: parseInt(m[1]!, 16) });
    } else if (section === 'ops' && (m = /Capabilities \(0x([0-9a-f]+)\)/.exec(line))) {
      cur.ops[cur.ops.length - 1]!.flags = parseInt(m[1]!, 16);
    } else if (section === 'groups' && (m = /#\d+:\s+ID-0x([0-9a-f]+)\s+name: (\S+)/.exec(line))) {
      cur.groups.push({ name: m[2]!, id: parseInt(m[1]!, 16) });
    }
  }
  return out;
}

/** A family as ksock resolved it, in the shape genl prints (flags only where genl prints them). */
function asGenl(f: k.GenlFamily, printed: GenlText): GenlText {
  return {
    name: f.name, id: f.id, version: f.version, hdrsize: f.hdrsize, maxattr: f.maxattr,
    ops: f.ops.map((o, i) => (printed.ops[i]?.flags !== undefined ? { id: o.id, flags: o.flags } : { id: o.id })),
    groups: f.groups,
  };
}

// ethtool's generic netlink interface (linux/ethtool_netlink.h: stable uapi numbers).
const ETHTOOL_MSG_LINKSTATE_GET = 6, ETHTOOL_MSG_LINKSTATE_GET_REPLY = 6, ETHTOOL_MSG_FEATURES_NTF = 13;
const ethtoolHeader = new k.AttrTable('ETHTOOL_A_HEADER', { DEV_INDEX: 'u32', DEV_NAME: 'string', FLAGS: 'u32' },
  { DEV_INDEX: 1, DEV_NAME: 2, FLAGS: 3 });
const linkstate = new k.AttrTable('ETHTOOL_A_LINKSTATE', {
  HEADER: { kind: 'nested', nested: ethtoolHeader }, LINK: 'u8', SQI: 'u32', SQI_MAX: 'u32', EXT_STATE: 'u8', EXT_SUBSTATE: 'u8', EXT_DOWN_CNT: 'u32',
}, { HEADER: 1, LINK: 2, SQI: 3, SQI_MAX: 4, EXT_STATE: 5, EXT_SUBSTATE: 6, EXT_DOWN_CNT: 7 });

const whyGenl = !linux ? 'skipped: no generic netlink on this platform' : !hasGenl ? 'skipped: no iproute2 genl(8)' : 'genl(8) is the peer';

describe.runIf(linux)('generic netlink: the controller', () => {
  it.runIf(hasGenl)(`nlctrl resolves to what \`genl ctrl get name nlctrl\` prints (${whyGenl})`, async () => {
    const printed = parseGenl(run('genl', 'ctrl', 'get', 'name', 'nlctrl').stdout);
    expect(printed).toHaveLength(1);
    const nl = k.Netlink.open('NETLINK_GENERIC');
    try {
      const f = await k.resolveFamily(nl, 'nlctrl');
      expect(f.id).toBe(k.constants.GENL_ID_CTRL);
      expect(f.ops.length).toBeGreaterThan(0);
      expect(asGenl(f, printed[0]!)).toEqual(printed[0]);
      // nlctrl's GETFAMILY can do and dump, as genl says.
      const get = f.ops.find((o) => o.id === k.constants.CTRL_CMD_GETFAMILY)!;
      expect(get.flags & (k.constants.GENL_CMD_CAP_DO! | k.constants.GENL_CMD_CAP_DUMP!)).toBe(k.constants.GENL_CMD_CAP_DO! | k.constants.GENL_CMD_CAP_DUMP!);
    } finally {
      await nl.close();
    }
  });

  it.runIf(hasGenl)(`the family list is \`genl ctrl list\`'s, family by family (${whyGenl})`, async () => {
    const nl = k.Netlink.open('NETLINK_GENERIC');
    try {
      const ours: k.GenlFamily[] = [];
      for await (const f of k.listFamilies(nl)) ours.push(f);
      const printed = parseGenl(run('genl', 'ctrl', 'list').stdout);
      expect(printed.length).toBeGreaterThan(1);
      expect(ours.map((f) => `${f.name}=${f.id}`)).toEqual(printed.map((f) => `${f.name}=${f.id}`));
      ours.forEach((f, i) => expect(asGenl(f, printed[i]!)).toEqual(printed[i]));
      // The same session answers a request after the dump.
      expect((await k.resolveFamily(nl, 'nlctrl')).id).toBe(k.constants.GENL_ID_CTRL);
    } finally {
      await nl.close();
    }
  });

  it.runIf(hasGenl)(`a family with multicast groups (ethtool where the kernel has it) resolves with them (${whyGenl})`, async () => {
    const list = parseGenl(run('genl', 'ctrl', 'list').stdout);
    const want = list.find((f) => f.name === 'ethtool') ?? list.find((f) => f.name !== 'nlctrl' && f.groups.length > 0);
    if (!want) return expect(list.length).toBeGreaterThan(0); // no family with groups besides nlctrl: nothing more to compare
    const g = await k.GenericNetlink.open(want.name);
    try {
      expect(asGenl(g.family, want)).toEqual(want);
      expect(g.family.groups.length).toBeGreaterThan(0);
      const grp = want.groups[0]!;
      expect(g.groupId(grp.name)).toBe(grp.id);
      expect(g.joinGroup(grp.name)).toBe(grp.id);
      g.leaveGroup(grp.name);
      expect(() => g.joinGroup('no-such-group')).toThrow(TypeError);
      expect(() => g.joinGroup('no-such-group')).toThrow(/has no multicast group "no-such-group" \(it has: /);
    } finally {
      await g.close();
    }
  });

  it('an unknown family rejects with NetlinkError ENOENT, and GenericNetlink.open leaves no descriptor behind', async () => {
    const before = openFds().length;
    const nl = k.Netlink.open('NETLINK_GENERIC');
    try {
      const e = await k.resolveFamily(nl, 'ksock-nonesuch').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(k.NetlinkError);
      expect(e).toMatchObject({ code: 'ENOENT', errno: k.constants.ENOENT });
      expect((e as Error).message).toBe('CTRL_CMD_GETFAMILY ENOENT: no generic netlink family "ksock-nonesuch"');
      // The session still works.
      expect((await k.resolveFamily(nl, 'nlctrl')).name).toBe('nlctrl');
    } finally {
      await nl.close();
    }
    for (let i = 0; i < 3; i++) {
      await expect(k.GenericNetlink.open('ksock-nonesuch')).rejects.toMatchObject({ name: 'NetlinkError', code: 'ENOENT' });
    }
    expect(openFds().length).toBe(before);
  });

  it('bad arguments are TypeError/RangeError before anything is sent', async () => {
    const nl = k.Netlink.open('NETLINK_GENERIC');
    const route = k.Netlink.open('NETLINK_ROUTE');
    try {
      await expect(k.resolveFamily(nl, 42 as unknown as string)).rejects.toThrow(TypeError);
      await expect(k.resolveFamily(nl, '')).rejects.toThrow(TypeError);
      await expect(k.resolveFamily(nl, 'a\0b')).rejects.toThrow(TypeError);
      await expect(k.resolveFamily(nl, 'x'.repeat(16))).rejects.toThrow(RangeError);
      await expect(k.resolveFamily(route, 'nlctrl')).rejects.toThrow(/NETLINK_GENERIC session/);
      await expect(k.resolveFamily({} as k.Netlink, 'nlctrl')).rejects.toThrow(TypeError);
      expect(() => k.listFamilies(route)).toThrow(TypeError);
      await expect(k.GenericNetlink.open(null as unknown as string)).rejects.toThrow(TypeError);
      await expect(k.GenericNetlink.open('nlctrl', { attrs: {} as k.AttrTable })).rejects.toThrow(TypeError);
      await expect(k.GenericNetlink.open('nlctrl', { mcastGroups: 'notify' as unknown as string[] })).rejects.toThrow(TypeError);
      await expect(k.GenericNetlink.open('nlctrl', { mcastGroups: ['nope'] })).rejects.toThrow(TypeError);
      const g = await k.GenericNetlink.open('nlctrl', { attrs: k.ctrlAttrs });
      try {
        await expect(g.request(256)).rejects.toThrow(RangeError);
        await expect(g.request(-1)).rejects.toThrow(RangeError);
        await expect(g.request(1.5)).rejects.toThrow(TypeError);
        await expect(g.request('3' as unknown as number)).rejects.toThrow(TypeError);
        await expect(g.request(3, null as unknown as Record<string, unknown>)).rejects.toThrow(TypeError);
        await expect(g.request(3, { NOPE: 1 })).rejects.toThrow(/unknown attribute NOPE/);
        await expect(g.request(3, { CTRL_ATTR_FAMILY_ID: 0x10000 })).rejects.toThrow(RangeError);
        await expect(g.request(3, { CTRL_ATTR_FAMILY_NAME: 7 })).rejects.toThrow(TypeError);
        await expect(g.request(3, {}, 'table' as unknown as k.AttrTable, {})).rejects.toThrow(TypeError);
        await expect(g.request(3, {}, undefined, { version: 300 })).rejects.toThrow(RangeError);
        await expect(g.request(3, {}, undefined, { header: Buffer.alloc(4) })).rejects.toThrow(RangeError);
        await expect(g.request(3, {}, undefined, { flags: -1 })).rejects.toThrow(TypeError);
        expect(() => g.dump(999)).toThrow(RangeError);
        expect(() => g.notifications({ table: 1 as unknown as k.AttrTable })).toThrow(TypeError);
        expect(() => g.groupId(5 as unknown as string)).toThrow(TypeError);
        expect(() => k.decodeGenl({ type: 16, flags: 0, seq: 0, pid: 0, data: Buffer.alloc(2) })).toThrow(RangeError);
        // Still usable afterwards: by name with the family's own table (options in the table's place).
        const [r] = await g.request(k.constants.CTRL_CMD_GETFAMILY!, { CTRL_ATTR_FAMILY_NAME: 'nlctrl' }, { timeout: 5000 });
        expect(r).toMatchObject({ type: k.constants.GENL_ID_CTRL, cmd: k.constants.CTRL_CMD_NEWFAMILY, attrs: { CTRL_ATTR_FAMILY_NAME: 'nlctrl', CTRL_ATTR_FAMILY_ID: k.constants.GENL_ID_CTRL } });
      } finally {
        await g.close();
      }
    } finally {
      await nl.close();
      await route.close();
    }
  });

  it('a GenericNetlink session: request and dump decode to { cmd, version, attrs }; a break leaves the session usable; close rejects what is pending', async () => {
    await using g = await k.GenericNetlink.open('nlctrl');
    expect(g.family.name).toBe('nlctrl');
    const names: string[] = [];
    for await (const m of g.dump(k.constants.CTRL_CMD_GETFAMILY!, {}, k.ctrlAttrs)) {
      expect(m.cmd).toBe(k.constants.CTRL_CMD_NEWFAMILY);
      names.push(m.attrs.CTRL_ATTR_FAMILY_NAME as string);
      if (names.length === 2) break;
    }
    expect(names[0]).toBe('nlctrl');
    const [one] = await g.request(k.constants.CTRL_CMD_GETFAMILY!, { CTRL_ATTR_FAMILY_ID: k.constants.GENL_ID_CTRL }, k.ctrlAttrs);
    expect(one!.attrs.CTRL_ATTR_FAMILY_NAME).toBe('nlctrl');
    // Without a table the attributes come back by number.
    const [raw] = await g.request(k.constants.CTRL_CMD_GETFAMILY!, { CTRL_ATTR_FAMILY_NAME: 'nlctrl' }, k.ctrlAttrs).then(() =>
      g.request(k.constants.CTRL_CMD_GETFAMILY!, { [String(k.constants.CTRL_ATTR_FAMILY_NAME)]: Buffer.from('nlctrl\0') }));
    expect(raw!.attrs[String(k.constants.CTRL_ATTR_FAMILY_NAME)]).toEqual(Buffer.from('nlctrl\0'));
    // An already-aborted signal rejects at once.
    await expect(g.request(k.constants.CTRL_CMD_GETFAMILY!, { CTRL_ATTR_FAMILY_NAME: 'nlctrl' }, k.ctrlAttrs, { signal: AbortSignal.abort() }))
      .rejects.toMatchObject({ name: 'AbortError' });
    // close() while a notification wait is pending ends it; a request after close is EBADF.
    const it = g.notifications();
    const pending = it.next();
    await g.close();
    await expect(pending).resolves.toMatchObject({ done: true });
    await expect(g.request(k.constants.CTRL_CMD_GETFAMILY!, { CTRL_ATTR_FAMILY_NAME: 'nlctrl' }, k.ctrlAttrs)).rejects.toMatchObject({ code: 'EBADF' });
  });
});

describe.runIf(linux)('examples/genl-family.mjs', () => {
  const example = join(__dirname, '..', 'examples', 'genl-family.mjs');
  const runExample = (...args: string[]) => spawnSync(process.execPath, [example, ...args], { encoding: 'utf8', timeout: 20_000, cwd: join(__dirname, '..') });

  it.runIf(hasGenl)(`prints nlctrl as \`genl ctrl get name nlctrl\` does (${whyGenl})`, () => {
    const r = runExample();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ours = parseGenl(r.stdout), theirs = parseGenl(run('genl', 'ctrl', 'get', 'name', 'nlctrl').stdout);
    expect(ours.map((f) => ({ ...f, ops: f.ops.map((o) => o.id) }))).toEqual(theirs.map((f) => ({ ...f, ops: f.ops.map((o) => o.id) })));
    const list = runExample('--list');
    expect(list.status).toBe(0);
    expect(parseGenl(list.stdout).map((f) => f.name)).toEqual(parseGenl(run('genl', 'ctrl', 'list').stdout).map((f) => f.name));
  });

  it('an unknown family: the error, exit status 1', () => {
    const r = runExample('ksock-nonesuch');
    expect(r.stdout).toBe('ksock-nonesuch: CTRL_CMD_GETFAMILY ENOENT: no generic netlink family "ksock-nonesuch"\n');
    expect(r.status).toBe(1);
  });
});

const whyEthtool = !hasEthtool ? 'the reply decodes; no ethtool(8) to compare with' : 'compared with ethtool(8)';

describe.runIf(linux)('generic netlink: the ethtool family', () => {
  it(`LINKSTATE_GET for lo: the link is detected (${whyEthtool}); a dump lists every link \`ip\` lists`, async (ctx) => {
    const nl = k.Netlink.open('NETLINK_GENERIC');
    const has = await k.resolveFamily(nl, 'ethtool').then(() => true, () => false);
    await nl.close();
    if (!has) return ctx.skip(); // this kernel has no ethtool netlink family
    await using g = await k.GenericNetlink.open('ethtool', { attrs: linkstate });
    const replies = await g.request(ETHTOOL_MSG_LINKSTATE_GET, { HEADER: { DEV_NAME: 'lo' } });
    expect(replies).toHaveLength(1);
    const r = replies[0]!;
    expect(r.cmd).toBe(ETHTOOL_MSG_LINKSTATE_GET_REPLY);
    expect(r.version).toBe(g.family.version);
    expect(r.attrs.HEADER).toMatchObject({ DEV_INDEX: 1, DEV_NAME: 'lo' });
    expect(typeof r.attrs.LINK).toBe('number');
    if (hasEthtool) {
      const detected = /Link detected: (yes|no)/.exec(run('ethtool', 'lo').stdout)?.[1];
      expect(r.attrs.LINK === 1 ? 'yes' : 'no').toBe(detected);
    }
    const dumped: string[] = [];
    for await (const m of g.dump(ETHTOOL_MSG_LINKSTATE_GET, { HEADER: {} })) {
      const h = m.attrs.HEADER as k.Attrs;
      dumped.push(`${h.DEV_INDEX}:${h.DEV_NAME}`);
      if (dumped.length > 10_000) break;
    }
    if (hasIp) {
      const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 })) as Array<{ ifindex: number; ifname: string }>;
      expect(dumped).toEqual(links.map((l) => `${l.ifindex}:${l.ifname}`));
    } else {
      expect(dumped[0]).toBe('1:lo');
    }
  });

  it(`a device that does not exist: NetlinkError ENODEV with the kernel's text (${whyEthtool})`, async (ctx) => {
    const nl = k.Netlink.open('NETLINK_GENERIC');
    const has = await k.resolveFamily(nl, 'ethtool').then(() => true, () => false);
    await nl.close();
    if (!has) return ctx.skip();
    await using g = await k.GenericNetlink.open('ethtool', { attrs: linkstate });
    const e = await g.request(ETHTOOL_MSG_LINKSTATE_GET, { HEADER: { DEV_NAME: 'ksocknodev0' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(k.NetlinkError);
    const ne = e as k.NetlinkError;
    expect(ne.code).toBe('ENODEV');
    expect(ne.extack).toBeTruthy();
    expect(ne.message).toBe(`ethtool command ${ETHTOOL_MSG_LINKSTATE_GET} ENODEV: ${ne.extack}`);
    // nlmsghdr (16) + genlmsghdr (4) + the HEADER nest's header (4): DEV_NAME at 24.
    expect(ne.offset).toBe(24);
    if (hasEthtool) {
      const err = run('ethtool', '-k', 'ksocknodev0').stderr;
      const m = /netlink error: (.+) \(offset (\d+)\)/.exec(err);
      expect(m, err).not.toBeNull();
      expect(ne.extack).toBe(m![1]);
      expect(ne.offset).toBe(Number(m![2]));
    }
  });
});

// An ethtool notification: a GenericNetlink session opened inside a namespace
// ({ netns }) joins ethtool's "monitor" group; ethtool(8) changes a feature of
// a veth there; the session decodes ethtool's FEATURES_NTF.
const ns = `ksock-${process.pid}-genl`;
const whyNtf = !hasCaps ? 'skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN' : !hasIp ? 'skipped: no ip(8)' : !hasEthtool ? 'skipped: no ethtool(8) to change a feature with' : 'in a namespace of its own';

describe.runIf(linux && hasCaps && hasIp && hasEthtool)(`generic netlink: notifications (${whyNtf})`, () => {
  afterEach(() => {
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  });

  it('joinGroup("monitor") delivers ethtool\'s FEATURES_NTF for a veth whose feature ethtool(8) changes', async () => {
    execFileSync('ip', ['netns', 'add', ns], { timeout: 10_000 });
    execFileSync('ip', ['-n', ns, 'link', 'add', 'ksa', 'type', 'veth', 'peer', 'name', 'ksb'], { timeout: 10_000 });
    const hdrT = new k.AttrTable('h', { DEV_INDEX: 'u32', DEV_NAME: 'string' }, { DEV_INDEX: 1, DEV_NAME: 2 });
    const features = new k.AttrTable('features', { HEADER: { kind: 'nested', nested: hdrT } }, { HEADER: 1 });
    await using g = await k.GenericNetlink.open('ethtool', { netns: ns, attrs: features });
    expect(g.joinGroup('monitor')).toBe(g.family.groups.find((x) => x.name === 'monitor')!.id);
    // The ifindex of ksa inside the namespace, as ip sees it there.
    const [ksa] = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'ksa'], { encoding: 'utf8', timeout: 10_000 })) as Array<{ ifindex: number }>;
    const changer = spawn('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'ksa', 'tx', 'off'], { stdio: 'ignore' });
    const changed = new Promise<number | null>((res) => changer.on('close', (code) => res(code)));
    const seen: k.GenlMessage[] = [];
    try {
      for await (const m of g.notifications({ signal: AbortSignal.timeout(10_000) })) {
        seen.push(m);
        if (m.cmd === ETHTOOL_MSG_FEATURES_NTF || seen.length > 100) break;
      }
    } finally {
      expect(await changed).toBe(0);
    }
    const ntf = seen.find((m) => m.cmd === ETHTOOL_MSG_FEATURES_NTF);
    expect(ntf, JSON.stringify(seen.map((m) => m.cmd))).toBeDefined();
    expect(ntf).toMatchObject({ type: g.family.id, pid: 0, version: g.family.version, attrs: { HEADER: { DEV_NAME: 'ksa', DEV_INDEX: ksa!.ifindex } } });
  });
});
