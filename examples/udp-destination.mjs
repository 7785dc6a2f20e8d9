// The destination address of each UDP datagram (IP_PKTINFO), and a reply
// sent from that same address. Run: node examples/udp-destination.mjs
import { Socket, AF_INET, SOCK_DGRAM, constants as c } from 'ksock';

const server = Socket.create(AF_INET, SOCK_DGRAM).bind({ family: AF_INET, address: '0.0.0.0', port: 0 });
server.setsockopt('IPPROTO_IP', c.IP_PKTINFO !== undefined ? 'IP_PKTINFO' : 'IP_RECVDSTADDR', true);
const port = server.address().port;

const client = Socket.create(AF_INET, SOCK_DGRAM).bind({ family: AF_INET, address: '127.0.0.1', port: 0 });
for (const dst of ['127.0.0.2', '127.0.0.3']) {
  await client.sendmsg({ data: Buffer.from(`to ${dst}`), to: { family: AF_INET, address: dst, port } });
  const m = await server.recvmsg({ size: 64, control: true });
  const pi = m.control.find((x) => x.level === c.IPPROTO_IP && (x.type === c.IP_PKTINFO || x.type === c.IP_RECVDSTADDR));
  console.log(`"${m.data}" from ${m.from.address}:${m.from.port} arrived for ${pi.addr}`);
  // Reply from the address the client used, not the one routing would pick.
  await server.sendmsg({ data: Buffer.from(`reply from ${pi.addr}`), to: m.from,
    control: [{ level: c.IPPROTO_IP, type: c.IP_PKTINFO ?? c.IP_SENDSRCADDR, spec_dst: pi.addr, addr: pi.addr }] });
  const r = await client.recvmsg({ size: 64 });
  console.log(`  "${r.data}" came from ${r.from.address}`);
}
await server.close();
await client.close();
