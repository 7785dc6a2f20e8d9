// A classic BPF interpreter with Linux's semantics, for tests and for users'
// unit tests of their filters: run(program, packet) is what the kernel's
// socket filter returns for that packet (the length to keep; 0 drops it).
//
// As in the kernel (net/core/filter.c, which converts classic programs and
// runs them with these rules):
//  - A, X and the 16 memory slots are u32 and start at 0; arithmetic wraps;
//  - a load past the end of the packet ends the program with 0;
//  - division or modulo by X == 0 ends the program with 0;
//  - shifts by X use its low 5 bits;
//  - `ld [SKF_AD_OFF + x]` reads packet metadata (protocol, ifindex, VLAN…)
//    from `opts`; `[SKF_NET_OFF + n]`/`[SKF_LL_OFF + n]` read relative to the
//    network/link-layer header; other negative offsets fail (0).
import {
  type BpfInsn, BPF_ABS, BPF_ALU, BPF_B, BPF_CLASS, BPF_H, BPF_IMM, BPF_IND, BPF_JMP, BPF_LD, BPF_LDX, BPF_LEN, BPF_MEM,
  BPF_MISC, BPF_MSH, BPF_OP, BPF_RET, BPF_SIZE, BPF_SRC, BPF_ST, BPF_STX, BPF_TXA, BPF_X, SKF_AD, SKF_AD_OFF, SKF_LL_OFF,
  SKF_NET_OFF, BPF_A,
} from './insn';
import { validate } from './asm';

/** Packet metadata for ancillary loads and negative offsets (all optional; 0 where absent). */
export interface RunOptions {
  /** skb->protocol as a host-order ethertype (0x0800 for IPv4): `ld [SKF_AD_OFF + SKF_AD_PROTOCOL]`. */
  protocol?: number;
  /** The packet type (PACKET_HOST 0, PACKET_BROADCAST 1, …, PACKET_OUTGOING 4). */
  pkttype?: number;
  ifindex?: number;
  mark?: number;
  queue?: number;
  /** The device's ARPHRD_* type (ARPHRD_ETHER 1, ARPHRD_LOOPBACK 772). */
  hatype?: number;
  rxhash?: number;
  cpu?: number;
  /** The VLAN TCI the device took out of the frame (present when given). */
  vlanTci?: number;
  /** The VLAN's TPID (0x8100, 0x88a8), with vlanTci. */
  vlanTpid?: number;
  /** The payload offset (SKF_AD_PAY_OFFSET). */
  payOffset?: number;
  /** What SKF_AD_RANDOM returns (default: Math.random). */
  random?: () => number;
  /** Where the link-layer header starts in `packet` (SKF_LL_OFF loads; default 0). */
  linkOffset?: number;
  /** Where the network header starts in `packet` (SKF_NET_OFF loads; absent: such loads fail). */
  networkOffset?: number;
  /** The packet length `ld #pktlen` reports (default `packet.length`). */
  length?: number;
  /** A bound on instructions executed (default 1e6; programs only jump forward, so 4096 suffices). */
  maxSteps?: number;
}

const u32 = (v: number): number => v >>> 0;

function opt(v: number | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) ? u32(Math.trunc(v)) : 0;
}

/**
 * Runs a program over a packet as a Linux socket filter: the number of bytes
 * the kernel would keep (0 = drop). The program is validated first (the
 * kernel would refuse an invalid one): a RangeError then.
 */
export function run(program: unknown, packet: Uint8Array, opts: RunOptions = {}): number {
  const p: BpfInsn[] = validate(program);
  if (!(packet instanceof Uint8Array)) throw new TypeError('run: packet must be a Buffer or Uint8Array');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('run: opts must be an object');
  const pkt = packet;
  const len = pkt.length;
  const wire = opts.length === undefined ? len : opt(opts.length);
  const maxSteps = opts.maxSteps ?? 1_000_000;

  // The absolute byte index of a load at signed offset `off`, or -1 when it fails.
  const where = (off: number, size: number): number => {
    let base = 0;
    let o = off;
    if (off < 0) {
      const k = off >>> 0;
      if (k >= SKF_NET_OFF) {
        if (opts.networkOffset === undefined) return -1;
        base = opt(opts.networkOffset);
        o = k - SKF_NET_OFF;
      } else if (k >= SKF_LL_OFF) {
        base = opt(opts.linkOffset);
        o = k - SKF_LL_OFF;
      } else return -1;
    }
    const at = base + o;
    return at + size <= len ? at : -1;
  };
  const load = (off: number, size: number): number | null => {
    const at = where(off, size);
    if (at < 0) return null;
    if (size === 4) return u32((pkt[at]! << 24) | (pkt[at + 1]! << 16) | (pkt[at + 2]! << 8) | pkt[at + 3]!);
    if (size === 2) return (pkt[at]! << 8) | pkt[at + 1]!;
    return pkt[at]!;
  };
  const ancillary = (k: number, A: number, X: number): number => {
    switch (k - SKF_AD_OFF) {
      case SKF_AD.PROTOCOL: return opt(opts.protocol) & 0xffff;
      case SKF_AD.PKTTYPE: return opt(opts.pkttype) & 0x7;
      case SKF_AD.IFINDEX: return opt(opts.ifindex);
      case SKF_AD.MARK: return opt(opts.mark);
      case SKF_AD.QUEUE: return opt(opts.queue) & 0xffff;
      case SKF_AD.HATYPE: return opt(opts.hatype) & 0xffff;
      case SKF_AD.RXHASH: return opt(opts.rxhash);
      case SKF_AD.CPU: return opt(opts.cpu);
      case SKF_AD.ALU_XOR_X: return u32(A ^ X);
      // The TCI without the kernel's "present" bit (VLAN_CFI_MASK is 0x1000 in old kernels; the tag's 16 bits here).
      case SKF_AD.VLAN_TAG: return opts.vlanTci === undefined ? 0 : opt(opts.vlanTci) & 0xffff;
      case SKF_AD.VLAN_TAG_PRESENT: return opts.vlanTci === undefined ? 0 : 1;
      case SKF_AD.VLAN_TPID: return opts.vlanTci === undefined ? 0 : opt(opts.vlanTpid ?? 0x8100) & 0xffff;
      case SKF_AD.PAY_OFFSET: return opt(opts.payOffset);
      case SKF_AD.RANDOM: return opt(Math.floor((opts.random ?? Math.random)() * 0x100000000));
      default: return 0; // NLATTR, NLATTR_NEST: netlink attributes, not modelled (0: not found)
    }
  };

  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  let pc = 0;
  for (let steps = 0; steps < maxSteps; steps++) {
    const { code, jt, jf, k } = p[pc]!;
    switch (BPF_CLASS(code)) {
      case BPF_LD: {
        const mode = code & 0xe0;
        const size = BPF_SIZE(code) === BPF_B ? 1 : BPF_SIZE(code) === BPF_H ? 2 : 4;
        if (mode === BPF_ABS) {
          if (k >= SKF_AD_OFF) A = ancillary(k, A, X);
          else {
            const v = load(k | 0, size);
            if (v === null) return 0;
            A = v;
          }
        } else if (mode === BPF_IND) {
          const v = load((X + k) | 0, size);
          if (v === null) return 0;
          A = v;
        } else if (mode === BPF_LEN) A = wire;
        else if (mode === BPF_IMM) A = k;
        else if (mode === BPF_MEM) A = M[k]!;
        pc++;
        break;
      }
      case BPF_LDX: {
        const mode = code & 0xe0;
        if (mode === BPF_MSH) {
          const v = load(k | 0, 1);
          if (v === null) return 0;
          X = (v & 0xf) << 2;
        } else if (mode === BPF_LEN) X = wire;
        else if (mode === BPF_IMM) X = k;
        else if (mode === BPF_MEM) X = M[k]!;
        pc++;
        break;
      }
      case BPF_ST:
        M[k] = A;
        pc++;
        break;
      case BPF_STX:
        M[k] = X;
        pc++;
        break;
      case BPF_ALU: {
        const op = BPF_OP(code);
        if (op === 0x80) {
          A = u32(-A);
          pc++;
          break;
        }
        const v = BPF_SRC(code) === BPF_X ? X : k;
        switch (op) {
          case 0x00: A = u32(A + v); break;
          case 0x10: A = u32(A - v); break;
          case 0x20: A = u32(Math.imul(A, v)); break;
          case 0x30: if (v === 0) return 0; A = u32(Math.floor(A / v)); break;
          case 0x90: if (v === 0) return 0; A = u32(A % v); break;
          case 0x40: A = u32(A | v); break;
          case 0x50: A = u32(A & v); break;
          case 0xa0: A = u32(A ^ v); break;
          case 0x60: A = u32(A << (v & 31)); break;
          case 0x70: A = A >>> (v & 31); break;
        }
        pc++;
        break;
      }
      case BPF_JMP: {
        const op = BPF_OP(code);
        if (op === 0x00) {
          pc += 1 + k;
          break;
        }
        const v = BPF_SRC(code) === BPF_X ? X : k;
        const yes = op === 0x10 ? A === v : op === 0x20 ? A > v : op === 0x30 ? A >= v : (A & v) !== 0;
        pc += 1 + (yes ? jt : jf);
        break;
      }
      case BPF_RET:
        return (code & 0x18) === BPF_A ? A : k;
      case BPF_MISC:
        if ((code & 0xf8) === BPF_TXA) A = X;
        else X = A;
        pc++;
        break;
    }
  }
  throw new RangeError(`run: more than ${maxSteps} steps`);
}

