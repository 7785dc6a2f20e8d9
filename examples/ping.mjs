// One raw ICMP echo through the kernel face (needs CAP_NET_RAW).
// Run: node examples/ping.mjs [host-ip]
import { socreate, sosend, soreceive, soclose, Uio, AF_INET, SOCK_RAW, errnoName, internetChecksum, constants as c } from 'ksock';

const host = process.argv[2] ?? '127.0.0.1';
const aso = { value: null };
const e = socreate(AF_INET, aso, SOCK_RAW, c.IPPROTO_ICMP);
if (e !== 0) {
  console.log(`raw socket: ${errnoName(e)} (raw ICMP needs CAP_NET_RAW; try \`ksock ping\`, which falls back to unprivileged ICMP)`);
  process.exit(0);
}
const so = aso.value;
const id = process.pid & 0xffff;
const echo = Buffer.alloc(16);
echo[0] = 8;                                             // ICMP_ECHO
echo.writeUInt16BE(id, 4);
echo.writeUInt16BE(1, 6);
echo.writeUInt16BE(internetChecksum(echo), 2);         // RFC 1071
const t0 = process.hrtime.bigint();
await sosend(so, { family: AF_INET, address: host, port: 0 }, null, echo, null, 0);
for (let i = 0; i < 10; i++) {
  const uio = new Uio(Buffer.alloc(1500));
  const from = { value: null };
  if (await soreceive(so, from, uio, null, null, null) !== 0) break;
  const pkt = uio.uio_iov[0].subarray(0, uio.moved);
  const icmp = pkt.subarray((pkt[0] & 0x0f) * 4);
  if (icmp[0] === 0 && icmp.readUInt16BE(4) === id) {
    console.log(`echo reply from ${from.value.address}: ttl=${pkt[8]} time=${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3)} ms`);
    break;
  }
}
soclose(so);
