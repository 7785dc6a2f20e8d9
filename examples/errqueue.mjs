// Why did that UDP send fail? The error queue (IP_RECVERR, Linux) says who
// answered and what. Run: node examples/errqueue.mjs
import { Socket, AF_INET, SOCK_DGRAM, errnoName, constants as c } from 'ksock';

if (c.IP_RECVERR === undefined) {
  console.log('no IP_RECVERR on this platform');
  process.exit(0);
}
const probe = Socket.create(AF_INET, SOCK_DGRAM).bind({ family: AF_INET, address: '127.0.0.1', port: 0 });
const closed = probe.address();                // a port nobody listens on once this socket is gone
await probe.close();

const so = Socket.create(AF_INET, SOCK_DGRAM).bind({ family: AF_INET, address: '127.0.0.1', port: 0 });
so.setsockopt('IPPROTO_IP', 'IP_RECVERR', true);
await so.sendmsg({ data: Buffer.from('anyone there?'), to: closed });

for (let i = 0; i < 100; i++) {
  const m = so.tryRecvmsg({ size: 512, control: true, flags: c.MSG_ERRQUEUE });
  if (m === null) {
    await new Promise((r) => setTimeout(r, 10));
    continue;
  }
  const ee = m.control.find((x) => x.level === c.IPPROTO_IP && x.type === c.IP_RECVERR);
  console.log(`"${m.data}" to port ${closed.port} failed: ${errnoName(ee.errno)}`);
  console.log(`  reported by ${ee.offender.address} (ICMP type ${ee.icmpType} code ${ee.icmpCode})`);
  break;
}
await so.close();
