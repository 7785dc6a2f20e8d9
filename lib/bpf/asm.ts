// Assembling, checking, disassembling and importing classic BPF programs.
//
// assemble() gives the bytes the kernel reads as a `struct sock_filter`
// array: 8 bytes per instruction, in host byte order (u16 code, u8 jt, u8 jf,
// u32 k). validate() refuses what the kernel's bpf_check_classic()
// (net/core/filter.c) refuses, with the reason, so that a bad program is an
// error in JavaScript rather than a bare EINVAL from setsockopt.
import { endianness } from 'node:os';
import {
  type BpfInsn, type BpfProgram, BPF_A, BPF_ABS, BPF_ALU, BPF_B, BPF_CLASS, BPF_DIV, BPF_H, BPF_IMM, BPF_IND, BPF_JA,
  BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_LEN, BPF_LSH, BPF_MAXINSNS, BPF_MEM, BPF_MEMWORDS, BPF_MISC, BPF_MOD, BPF_MSH,
  BPF_OP, BPF_RET, BPF_RSH, BPF_SIZE, BPF_SRC, BPF_ST, BPF_STX, BPF_TAX, BPF_TXA, BPF_W, BPF_X, SKF_AD_MAX, SKF_AD_OFF,
  isCondJump, isKnownOpcode,
} from './insn';

const LE = endianness() === 'LE';

/** The size of one `struct sock_filter`. */
export const INSN_SIZE = 8;

function field(o: Record<string, unknown>, key: string, i: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`instruction ${i}: ${key} must be an integer`);
  const lo = key === 'k' ? -0x80000000 : 0;
  if (v < lo || v > max) throw new RangeError(`instruction ${i}: ${key} must be ${lo}..${max} (got ${v})`);
  return key === 'k' ? v >>> 0 : v;
}

/**
 * Copies a program given by the caller into plain, checked instructions:
 * a real (dense) Array of at most BPF_MAXINSNS objects with integer
 * `code` (u16), `jt`, `jf` (u8) and `k` (u32; negative is two's complement).
 * Each field is read once. TypeError/RangeError otherwise.
 */
export function normalize(program: unknown): BpfInsn[] {
  if (!Array.isArray(program)) throw new TypeError('a BPF program must be an array of { code, jt, jf, k }');
  const n = program.length;
  if (n === 0) throw new RangeError('a BPF program needs at least one instruction');
  if (n > BPF_MAXINSNS) throw new RangeError(`a BPF program has at most ${BPF_MAXINSNS} instructions (got ${n})`);
  const out: BpfInsn[] = new Array<BpfInsn>(n);
  for (let i = 0; i < n; i++) {
    if (!Object.prototype.hasOwnProperty.call(program, i)) throw new TypeError(`instruction ${i} is missing (a sparse array)`);
    const x: unknown = program[i];
    if (typeof x !== 'object' || x === null) throw new TypeError(`instruction ${i} must be an object { code, jt, jf, k }`);
    const o = x as Record<string, unknown>;
    out[i] = { code: field(o, 'code', i, 0xffff), jt: field(o, 'jt', i, 0xff), jf: field(o, 'jf', i, 0xff), k: field(o, 'k', i, 0xffffffff) };
  }
  if (program.length !== n) throw new RangeError('the program changed length while it was read');
  return out;
}

/** Why the kernel would refuse `program`, or null if it would accept it (bpf_check_classic). */
export function check(program: BpfProgram): string | null {
  const flen = program.length;
  if (flen === 0 || flen > BPF_MAXINSNS) return `a program has 1..${BPF_MAXINSNS} instructions (got ${flen})`;
  for (let pc = 0; pc < flen; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    if (!isKnownOpcode(code)) return `instruction ${pc}: unknown opcode 0x${code.toString(16)}`;
    switch (code) {
      case BPF_ALU | BPF_DIV | BPF_K:
      case BPF_ALU | BPF_MOD | BPF_K:
        if (k === 0) return `instruction ${pc}: division by the constant 0`;
        break;
      case BPF_ALU | BPF_LSH | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K:
        if (k >= 32) return `instruction ${pc}: a shift by ${k} (at most 31)`;
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
      case BPF_ST:
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return `instruction ${pc}: memory slot M[${k}] (there are ${BPF_MEMWORDS})`;
        break;
      case BPF_JMP | BPF_JA:
        if (k >= flen - pc - 1) return `instruction ${pc}: ja ${k} jumps past the end`;
        break;
      case BPF_LD | BPF_W | BPF_ABS:
      case BPF_LD | BPF_H | BPF_ABS:
      case BPF_LD | BPF_B | BPF_ABS:
        if (k >= SKF_AD_OFF && (k - SKF_AD_OFF >= SKF_AD_MAX || (k - SKF_AD_OFF) % 4 !== 0)) {
          return `instruction ${pc}: unknown ancillary load [${k | 0}]`;
        }
        break;
      default:
        if (isCondJump(code) && (pc + jt + 1 >= flen || pc + jf + 1 >= flen)) {
          return `instruction ${pc}: a jump past the end (jt ${jt}, jf ${jf})`;
        }
    }
  }
  const last = program[flen - 1]!.code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) return `the last instruction must be a ret (instruction ${flen - 1})`;
  // check_load_and_stores(): a slot is read only where every path wrote it.
  const masks = new Array<number>(flen).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < flen; pc++) {
    valid &= masks[pc]!;
    const { code, jt, jf, k } = program[pc]!;
    if (code === BPF_ST || code === BPF_STX) valid |= 1 << k;
    else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if (!(valid & (1 << k))) return `instruction ${pc}: M[${k}] is read before it is written`;
    } else if (code === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k]! &= valid;
      valid = 0xffff;
    } else if (isCondJump(code)) {
      masks[pc + 1 + jt]! &= valid;
      masks[pc + 1 + jf]! &= valid;
      valid = 0xffff;
    }
  }
  return null;
}

/** Checks a program as the kernel will; throws a RangeError saying why it would be refused. Returns the checked copy. */
export function validate(program: unknown): BpfInsn[] {
  const p = normalize(program);
  const why = check(p);
  if (why !== null) throw new RangeError(`invalid BPF program: ${why}`);
  return p;
}

/**
 * The program as the kernel's `struct sock_filter[]` bytes (8 per
 * instruction, host byte order), after validate().
 */
export function assemble(program: unknown): Buffer {
  const p = validate(program);
  const b = Buffer.alloc(p.length * INSN_SIZE);
  p.forEach((x, i) => {
    const o = i * INSN_SIZE;
    if (LE) b.writeUInt16LE(x.code, o);
    else b.writeUInt16BE(x.code, o);
    b[o + 2] = x.jt;
    b[o + 3] = x.jf;
    if (LE) b.writeUInt32LE(x.k, o + 4);
    else b.writeUInt32BE(x.k, o + 4);
  });
  return b;
}

/** The instructions in `sock_filter[]` bytes (host byte order); a length that is not a multiple of 8 is a RangeError. Not validated. */
export function fromBytes(bytes: Uint8Array): BpfInsn[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('fromBytes: bytes must be a Buffer or Uint8Array');
  if (bytes.length % INSN_SIZE !== 0) throw new RangeError(`fromBytes: ${bytes.length} bytes is not a whole number of instructions`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let o = 0; o < b.length; o += INSN_SIZE) {
    out.push({
      code: LE ? b.readUInt16LE(o) : b.readUInt16BE(o), jt: b[o + 2]!, jf: b[o + 3]!,
      k: LE ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 4),
    });
  }
  return out;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const hex = (k: number): string => `0x${k.toString(16)}`;
const sgn = (k: number): number => k | 0;

const ALU_NAMES: Record<number, string> = {
  0x00: 'add', 0x10: 'sub', 0x20: 'mul', 0x30: 'div', 0x40: 'or', 0x50: 'and', 0x60: 'lsh', 0x70: 'rsh', 0x90: 'mod', 0xa0: 'xor',
};
const JMP_NAMES: Record<number, string> = { 0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset' };
const SIZE_SUFFIX: Record<number, string> = { [BPF_W]: '', [BPF_H]: 'h', [BPF_B]: 'b' };

/** One instruction in the words of libpcap's bpf_image() (what `tcpdump -d` prints), numbered n. */
export function disassembleOne(x: BpfInsn, n: number): string {
  const { code, k } = x;
  let op = 'unimp';
  let operand = hex(code);
  const cls = BPF_CLASS(code);
  if (cls === BPF_RET && (code === (BPF_RET | BPF_K) || code === (BPF_RET | BPF_A))) {
    op = 'ret';
    operand = code === (BPF_RET | BPF_K) ? `#${sgn(k)}` : '';
  } else if (cls === BPF_LD && isKnownOpcode(code)) {
    const mode = code & 0xe0;
    op = 'ld' + (mode === BPF_ABS || mode === BPF_IND ? SIZE_SUFFIX[BPF_SIZE(code)]! : '');
    operand = mode === BPF_ABS ? `[${sgn(k)}]` : mode === BPF_IND ? `[x + ${sgn(k)}]` : mode === BPF_LEN ? '#pktlen'
      : mode === BPF_IMM ? `#${hex(k)}` : `M[${sgn(k)}]`;
  } else if (cls === BPF_LDX && isKnownOpcode(code)) {
    const mode = code & 0xe0;
    op = mode === BPF_MSH ? 'ldxb' : 'ldx';
    operand = mode === BPF_MSH ? `4*([${sgn(k)}]&0xf)` : mode === BPF_LEN ? '#pktlen' : mode === BPF_IMM ? `#${hex(k)}` : `M[${sgn(k)}]`;
  } else if (code === BPF_ST || code === BPF_STX) {
    op = code === BPF_ST ? 'st' : 'stx';
    operand = `M[${sgn(k)}]`;
  } else if (code === (BPF_JMP | BPF_JA)) {
    op = 'ja';
    operand = `${n + 1 + k}`;
  } else if (cls === BPF_JMP && isKnownOpcode(code)) {
    op = JMP_NAMES[BPF_OP(code)]!;
    operand = BPF_SRC(code) === BPF_X ? 'x' : `#${hex(k)}`;
  } else if (code === (BPF_ALU | 0x80)) {
    op = 'neg';
    operand = '';
  } else if (cls === BPF_ALU && isKnownOpcode(code)) {
    const o = BPF_OP(code);
    op = ALU_NAMES[o]!;
    // bpf_image: logical operations in hex, arithmetic and shifts in decimal.
    operand = BPF_SRC(code) === BPF_X ? 'x' : o === 0x40 || o === 0x50 || o === 0xa0 ? `#${hex(k)}` : `#${sgn(k)}`;
  } else if (code === (BPF_MISC | BPF_TAX) || code === (BPF_MISC | BPF_TXA)) {
    op = code === (BPF_MISC | BPF_TAX) ? 'tax' : 'txa';
    operand = '';
  }
  const num = `(${String(n).padStart(3, '0')})`;
  if (isCondJump(code) && isKnownOpcode(code)) {
    return `${num} ${pad(op, 8)} ${pad(operand, 16)} jt ${n + 1 + x.jt}\tjf ${n + 1 + x.jf}`;
  }
  return `${num} ${pad(op, 8)} ${operand}`;
}

/** The program as `tcpdump -d` prints it: one line per instruction, joined with '\n'. Not validated. */
export function disassemble(program: unknown): string {
  const p = Buffer.isBuffer(program) || program instanceof Uint8Array ? fromBytes(program) : normalize(program);
  return p.map((x, i) => disassembleOne(x, i)).join('\n');
}

/** The program as `tcpdump -dd` prints it (C initializers). */
export function toC(program: unknown): string {
  const p = normalize(program);
  return p.map((x) => `{ 0x${x.code.toString(16)}, ${x.jt}, ${x.jf}, 0x${x.k.toString(16).padStart(8, '0')} },`).join('\n');
}

const NUM = String.raw`(0[xX][0-9a-fA-F]+|\d+)`;
const DD_LINE = new RegExp(String.raw`^\{\s*${NUM}\s*,\s*${NUM}\s*,\s*${NUM}\s*,\s*${NUM}\s*\},?$`);
const DDD_LINE = /^(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/;

/**
 * A program from the text `tcpdump -dd` prints (`{ 0x28, 0, 0, 0x0000000c },`
 * lines) or `tcpdump -ddd` prints (a count, then `code jt jf k` in decimal).
 * Blank lines and tcpdump's "Warning: ..." lines are skipped; anything else
 * is a SyntaxError naming the line. The result is validated.
 */
export function parseTcpdump(text: string): BpfInsn[] {
  if (typeof text !== 'string') throw new TypeError('parseTcpdump: text must be a string');
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !/^(Warning|tcpdump):/.test(l));
  if (lines.length === 0) throw new SyntaxError('parseTcpdump: no instructions in the text');
  const out: BpfInsn[] = [];
  const num = (s: string): number => Number(s.toLowerCase().startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10));
  if (/^\d+$/.test(lines[0]!)) {
    const count = Number(lines[0]);
    const body = lines.slice(1);
    if (count !== body.length) throw new SyntaxError(`parseTcpdump: the count says ${count} instructions, the text has ${body.length}`);
    body.forEach((l, i) => {
      const m = DDD_LINE.exec(l);
      if (!m) throw new SyntaxError(`parseTcpdump: line ${i + 2} is not 'code jt jf k': '${l}'`);
      out.push({ code: num(m[1]!), jt: num(m[2]!), jf: num(m[3]!), k: num(m[4]!) });
    });
  } else {
    lines.forEach((l, i) => {
      const m = DD_LINE.exec(l);
      if (!m) throw new SyntaxError(`parseTcpdump: line ${i + 1} is not '{ code, jt, jf, k },': '${l}'`);
      out.push({ code: num(m[1]!), jt: num(m[2]!), jf: num(m[3]!), k: num(m[4]!) });
    });
  }
  return validate(out);
}

