// Passing a descriptor with SCM_RIGHTS, and who owns it on the way.
// Run: node examples/fd-passing.mjs
import { writeFileSync, openSync, readSync, closeSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Socket, SOL_SOCKET, constants } from 'ksock';

const path = join(tmpdir(), `ksock-example-${process.pid}.txt`);
writeFileSync(path, 'contents reached through a passed descriptor\n');
const fd = openSync(path, 'r');

const [a, b] = Socket.socketpair();                       // AF_UNIX, SOCK_STREAM
await a.sendmsg({ data: Buffer.from('F'), control: [{ level: SOL_SOCKET, type: constants.SCM_RIGHTS, fds: [fd] }] });
closeSync(fd);                                            // the receiver holds its own copy now

const msg = await b.recvmsg({ size: 16, control: true });
const item = msg.control.find((m) => m.level === SOL_SOCKET && m.type === constants.SCM_RIGHTS);
console.log('claimed before reading fds:', item.claimed);
const [got] = item.fds;                                   // reading fds claims them: closing is ours now
console.log('claimed after:', item.claimed, '- received descriptor', got);
const buf = Buffer.alloc(128);
const n = readSync(got, buf, 0, buf.length, 0);
process.stdout.write('read: ' + buf.subarray(0, n).toString());
closeSync(got);
unlinkSync(path);
await a.close();
await b.close();
