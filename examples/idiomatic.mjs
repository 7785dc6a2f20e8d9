// The idiomatic face: a TCP echo server and client with promises, for-await,
// timeouts and AbortSignal. Run: node examples/idiomatic.mjs
import { Socket, AF_INET, SOCK_STREAM, SHUT_WR } from 'ksock';

const server = Socket.create(AF_INET, SOCK_STREAM).bind({ family: AF_INET, address: '127.0.0.1', port: 0 }).listen();
const stop = new AbortController();

(async () => {
  // Serve until aborted: each connection echoes what it reads, upper-cased.
  try {
    for (;;) {
      const conn = await server.accept({ signal: stop.signal });
      (async () => {
        for await (const msg of conn) await conn.sendmsg(Buffer.from(msg.data.toString().toUpperCase()));
        await conn.close();
      })();
    }
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
  }
})();

const client = Socket.create(AF_INET, SOCK_STREAM);
await client.connect(server.address(), { timeout: 2000 });
console.log('connected', client.address(), '->', client.remoteAddress());
await client.sendmsg(Buffer.from('hello, ksock'));
client.shutdown(SHUT_WR);
let reply = '';
for await (const msg of client) reply += msg.data;
console.log('reply:', reply);

const after = await client.recvmsg({ timeout: 50 });
console.log('after EOF a receive returns', after.bytes, 'bytes');
try {
  await client.sendmsg({ data: Buffer.from('more'), timeout: 50 });
} catch (e) {
  console.log('sending after shutdown(SHUT_WR):', e.message);
}
await client.close();
stop.abort();
await server.close();
