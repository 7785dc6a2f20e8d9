#!/usr/bin/env node
// A packet capture tool in a page, with no libpcap: a packet socket on one
// interface, kernel timestamps, the VLAN tag from PACKET_AUXDATA, one line per
// packet as tcpdump -n prints it, and optionally a pcap file.
//
//   sudo node examples/capture.mjs IFACE [COUNT] [FILE.pcap]
//
// (`ksock capture` is the full tool: filters, snaplen, timeouts.)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Socket, PacketPrinter, PcapWriter, if_nametoindex, constants: c } = require('../dist/index.js');

const [iface, countText = '10', file] = process.argv.slice(2);
if (!iface) {
  console.error('usage: node examples/capture.mjs IFACE [COUNT] [FILE.pcap]');
  process.exit(2);
}
const count = Number(countText);

// The protocol is an ethertype in host order: ksock converts it for the kernel.
const so = Socket.create('AF_PACKET', 'SOCK_RAW', 'ETH_P_ALL');
so.setsockopt('SOL_PACKET', 'PACKET_AUXDATA', true); // lengths, VLAN tag
so.setsockopt('SOL_SOCKET', 'SO_TIMESTAMPNS', true); // the kernel's receive time
so.bind({ family: c.AF_PACKET, protocol: c.ETH_P_ALL, ifindex: if_nametoindex(iface) });

const printer = new PacketPrinter();
const pcap = file ? new PcapWriter(file) : null;
const ac = new AbortController();
process.once('SIGINT', () => ac.abort());
console.error(`listening on ${iface}`);

let n = 0;
try {
  while (n < count) {
    const m = await so.recvmsg({ size: 65536, control: true, signal: ac.signal });
    if (m.from.pkttype === c.PACKET_OUTGOING && iface === 'lo') continue; // lo shows each packet twice
    n++;
    const ts = m.control.find((x) => x.name === 'SCM_TIMESTAMPNS');
    const aux = m.control.find((x) => x.name === 'PACKET_AUXDATA');
    const vlan = aux && aux.status & c.TP_STATUS_VLAN_VALID ? ` (vlan ${aux.vlan_tci & 0xfff})` : '';
    if (pcap) pcap.write(m.data, { sec: ts.sec, nsec: ts.nsec });
    else console.log(printer.line(m.data, ts.sec, ts.nsec) + vlan);
  }
} catch (e) {
  if (e.name !== 'AbortError') throw e;
} finally {
  pcap?.close();
  const st = so.getsockopt('SOL_PACKET', 'PACKET_STATISTICS'); // read once: the kernel resets it
  console.error(`${n} packets, ${st.drops} dropped by the kernel`);
  await so.close();
}
