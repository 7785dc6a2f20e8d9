// A short tour of ksock's kernel face: socket states, a connect/tsleep loop
// as in-kernel code writes it, and MSG_DONTWAIT. Run it with `npm start`.
import { inspect } from 'node:util';
import {
  socreate, sobind, solisten, soconnect, soaccept, sosend, soreceive, soshutdown, soclose, tsleep,
  Uio, UIO_WRITE, AF_INET, SOCK_STREAM, SOCK_DGRAM, MSG_DONTWAIT, EWOULDBLOCK, SS_ISCONNECTING,
  errnoName, features,
} from 'ksock';

const show = (label, so) => console.log(`${label.padEnd(28)} ${inspect(so)}`);
const must = (e, what) => { if (e !== 0) throw new Error(`${what}: ${errnoName(e)}`); };
const loopback = { family: AF_INET, address: '127.0.0.1', port: 0 };

console.log(`ksock on ${process.platform}, Node ${process.version}; IPv6 ${features.ipv6 ? 'yes' : 'no'}, ` +
  `abstract AF_UNIX ${features.unix_abstract ? 'yes' : 'no'}, raw sockets ${features.raw_sockets ? 'yes' : 'no'}\n`);

// 1. A listener: socreate, sobind, solisten.
const aso = { value: null };
must(socreate(AF_INET, aso, SOCK_STREAM, 0), 'socreate');
const listener = aso.value;
show('created', listener);
must(sobind(listener, loopback), 'sobind');
must(solisten(listener, 8), 'solisten');
show('bound and listening', listener);
const where = listener._local();

// 2. soconnect returns at once; sleep on so_timeo until the state settles,
//    re-testing after every wakeup, exactly like kernel code does.
must(socreate(AF_INET, aso, SOCK_STREAM, 0), 'socreate');
const client = aso.value;
must(soconnect(client, where), 'soconnect');
show('soconnect returned', client);
let wakeups = 0;
while ((client.so_state & SS_ISCONNECTING) && client.so_error === 0 && wakeups < 20) {
  const r = await tsleep(client.so_timeo, 'connec', 1000);
  wakeups++;
  console.log(`${''.padEnd(28)} tsleep -> ${r === 0 ? 'woken' : errnoName(r)}`);
}
show('connected', client);

// 3. soaccept sleeps for a connection; data both ways through a uio.
const child = { value: null };
must(await soaccept(listener, child), 'soaccept');
show('accepted', child.value);
must(await sosend(client, null, new Uio(Buffer.from('hello, kernel face'), UIO_WRITE), null, null, 0), 'sosend');
const uio = new Uio(Buffer.alloc(64));
must(await soreceive(child.value, null, uio, null, null, null), 'soreceive');
console.log(`${'received'.padEnd(28)} ${JSON.stringify(uio.uio_iov[0].subarray(0, uio.moved).toString())}, uio_resid ${uio.uio_resid}`);

// 4. MSG_DONTWAIT: one synchronous attempt, EWOULDBLOCK instead of sleeping.
const r = soreceive(child.value, null, new Uio(Buffer.alloc(8)), null, null, { value: MSG_DONTWAIT });
console.log(`${'MSG_DONTWAIT, nothing queued'.padEnd(28)} soreceive -> ${typeof r} ${errnoName(r)} (EWOULDBLOCK = ${errnoName(EWOULDBLOCK)})`);

// 5. A connect that fails: so_error is set and SS_ISCONNECTING cleared.
must(socreate(AF_INET, aso, SOCK_DGRAM, 0), 'socreate');
const probe = aso.value;
sobind(probe, loopback);
const deadPort = probe._local().port; // bound by a UDP socket: no TCP listener there
must(socreate(AF_INET, aso, SOCK_STREAM, 0), 'socreate');
const refused = aso.value;
const e = soconnect(refused, { family: AF_INET, address: '127.0.0.1', port: deadPort });
for (let i = 0; e === 0 && (refused.so_state & SS_ISCONNECTING) && i < 20; i++) await tsleep(refused.so_timeo, 'connec', 1000);
show(`connect to :${deadPort}`, refused);
console.log(`${''.padEnd(28)} so_error = ${errnoName(e || refused.so_error)}`);

// 6. Shutdown and close: state by name; soclose is idempotent.
must(soshutdown(client, 1 /* SHUT_WR */), 'soshutdown');
show('after soshutdown(SHUT_WR)', client);
for (const so of [client, child.value, listener, probe, refused]) soclose(so);
soclose(client);
show('after soclose (twice)', client);
