// A generic netlink family by name, printed the way `genl ctrl get name NAME`
// prints it (Linux): its id, version, header size, operations and multicast
// groups. With --list, every family, as `genl ctrl list` names them.
// Run: node examples/genl-family.mjs [NAME | --list]     (default: nlctrl)
import { Netlink, listFamilies, resolveFamily, constants as c } from 'ksock';

if (c.NETLINK_GENERIC === undefined) {
  console.log('no generic netlink on this platform');
  process.exit(0);
}
const arg = process.argv[2] ?? 'nlctrl';
const hex = (n) => `0x${n.toString(16)}`;
const caps = (f) => [
  [c.GENL_CMD_CAP_DO, 'can doit'], [c.GENL_CMD_CAP_DUMP, 'can dumpit'], [c.GENL_CMD_CAP_HASPOL, 'has policy'],
  [c.GENL_ADMIN_PERM, 'requires admin permission'],
].filter(([bit]) => bit !== undefined && f & bit).map(([, what]) => what).join('; ');

function print(f) {
  console.log(`Name: ${f.name}`);
  console.log(`\tID: ${hex(f.id)}  Version: ${hex(f.version)}  header size: ${f.hdrsize}  max attribs: ${f.maxattr}`);
  if (f.ops.length) {
    console.log('\tcommands supported:');
    f.ops.forEach((o, i) => console.log(`\t\t#${i + 1}:  ID-${hex(o.id)}${o.flags ? `  (${caps(o.flags)})` : ''}`));
  }
  if (f.groups.length) {
    console.log('\tmulticast groups:');
    f.groups.forEach((g, i) => console.log(`\t\t#${i + 1}:  ID-${hex(g.id)}  name: ${g.name}`));
  }
}

const nl = Netlink.open('NETLINK_GENERIC');
try {
  if (arg === '--list') {
    for await (const f of listFamilies(nl)) print(f);
  } else {
    print(await resolveFamily(nl, arg));
  }
} catch (e) {
  console.log(`${arg}: ${e.message}`);
  process.exitCode = 1;
} finally {
  await nl.close();
}
