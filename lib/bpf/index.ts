// Classic BPF: typed instructions, an assembler/disassembler, an importer of
// `tcpdump -dd` output, a VM with Linux's semantics and a filter compiler.
// Attach a program with
//   socket.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', bpf.compile('udp port 53'))
import * as insn from './insn';
import { assemble, check, disassemble, disassembleOne, fromBytes, normalize, parseTcpdump, toC, validate, INSN_SIZE } from './asm';
import { run } from './vm';
import { compile, filter, parse, ipBytes } from './filter';

export type { BpfInsn, BpfProgram, Size, AluOp, JmpOp, AncillaryName } from './insn';
export type { RunOptions } from './vm';
export type { FilterExpr, Dir, LinkType, CompileOptions } from './filter';
export { assemble, check, disassemble, disassembleOne, fromBytes, normalize, parseTcpdump, toC, validate, INSN_SIZE };
export { run, compile, filter, parse, ipBytes };
export const { ins, insn: makeInsn, SKF_AD } = insn;

/**
 * The classic-BPF toolkit as one object:
 * - `bpf.ins.*` build instructions (`bpf.ins.ldAbs('h', 12)`), `bpf.insn(code, jt, jf, k)` from fields;
 *   the opcode constants `bpf.BPF_LD` … and Linux's `bpf.SKF_AD_OFF`, `bpf.SKF_AD.PROTOCOL` …
 * - `bpf.assemble(program)` → the kernel's `sock_filter[]` bytes; `bpf.fromBytes(buf)` back;
 *   `bpf.validate(program)` checks as the kernel does; `bpf.disassemble(program)` prints as `tcpdump -d`;
 *   `bpf.parseTcpdump(text)` reads `tcpdump -dd`/`-ddd` output.
 * - `bpf.run(program, packet, opts?)` → what the kernel's socket filter returns (0 drops).
 * - `bpf.compile('udp and dst port 53', { linkType: 'ethernet' })` → instructions;
 *   `bpf.filter.*` builds the same expressions as functions.
 */
export const bpf = Object.freeze({
  ...insn,
  insn: insn.insn,
  assemble, check, disassemble, disassembleOne, fromBytes, normalize, parseTcpdump, toC, validate, INSN_SIZE,
  run, compile, filter, parse, ipBytes,
});
