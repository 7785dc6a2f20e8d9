// A filtered capture on lo: the kernel runs a compiled classic-BPF program on
// an AF_PACKET socket, so only the frames it accepts reach JavaScript; the VM
// then gives the same verdict on each of them.
// Run (as root, or with CAP_NET_RAW): node examples/bpf-filter.mjs ['udp and dst port N']
import { Socket, AF_INET, SOCK_DGRAM, constants as c, features, if_nametoindex, bpf } from 'ksock';

if (!features.packet_sockets) {
  console.log('bpf-filter: packet sockets need CAP_NET_RAW (run as root)');
  process.exit(0);
}

// Two UDP sockets on 127.0.0.1; only datagrams to the first one are wanted.
const want = Socket.create(AF_INET, SOCK_DGRAM).bind({ family: AF_INET, address: '127.0.0.1', port: 0 });
const other = Socket.create(AF_INET, SOCK_DGRAM).bind({ family: AF_INET, address: '127.0.0.1', port: 0 });
const expr = process.argv[2] ?? `udp and dst port ${want.address().port}`;
const program = bpf.compile(expr, { linkType: 'ethernet' }); // lo frames carry an Ethernet header
console.log(`filter '${expr}': ${program.length} instructions`);

// Attach before binding to lo, so that no frame arrives unfiltered.
const cap = Socket.create(c.AF_PACKET, 'SOCK_RAW', 0);
cap.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', program);
cap.bind({ family: c.AF_PACKET, protocol: c.ETH_P_ALL, ifindex: if_nametoindex('lo') });

const tx = Socket.create(AF_INET, SOCK_DGRAM);
for (let i = 1; i <= 3; i++) {
  await tx.sendmsg({ data: Buffer.from(`wanted ${i}`), to: want.address() });
  await tx.sendmsg({ data: Buffer.from(`ignored ${i}`), to: other.address() });
}

// lo shows each datagram going out and coming in: print the incoming copies.
for (let seen = 0; seen < 3;) {
  const m = await cap.recvmsg({ size: 2048, timeout: 2000 });
  if (m.from.pkttype !== c.PACKET_HOST) continue;
  seen++;
  const payload = m.data.subarray(14 + 20 + 8).toString();
  console.log(`${m.data.length} bytes: "${payload}", VM verdict ${bpf.run(program, m.data)}`);
}
await Promise.all([cap.close(), want.close(), other.close(), tx.close()]);
