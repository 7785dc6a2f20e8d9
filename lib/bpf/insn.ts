// Classic BPF instructions: the kernel's `struct sock_filter` ({ code, jt, jf, k })
// and constructors named after the opcodes.
//
// The opcode numbers are the instruction set's, not a platform's: Linux's
// <linux/bpf_common.h> and the BSDs' <net/bpf.h> give them the same values
// (the ISA is McCanne and Jacobson's), so they are written here once. The
// ancillary offsets (SKF_AD_*) are the Linux ABI's.

/** One classic BPF instruction, as the kernel's `struct sock_filter`. */
export interface BpfInsn {
  /** The opcode: class | size | mode, or class | op | source. */
  code: number;
  /** Conditional jumps: instructions to skip when the test holds (0..255). */
  jt: number;
  /** Conditional jumps: instructions to skip when it does not (0..255). */
  jf: number;
  /** The constant operand (u32). */
  k: number;
}

/** A program: its instructions in order. */
export type BpfProgram = readonly BpfInsn[];

// Instruction classes.
export const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03, BPF_ALU = 0x04, BPF_JMP = 0x05,
  BPF_RET = 0x06, BPF_MISC = 0x07;
// Load sizes.
export const BPF_W = 0x00, BPF_H = 0x08, BPF_B = 0x10;
// Load modes.
export const BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_IND = 0x40, BPF_MEM = 0x60, BPF_LEN = 0x80, BPF_MSH = 0xa0;
// ALU operations.
export const BPF_ADD = 0x00, BPF_SUB = 0x10, BPF_MUL = 0x20, BPF_DIV = 0x30, BPF_OR = 0x40, BPF_AND = 0x50,
  BPF_LSH = 0x60, BPF_RSH = 0x70, BPF_NEG = 0x80, BPF_MOD = 0x90, BPF_XOR = 0xa0;
// Jumps.
export const BPF_JA = 0x00, BPF_JEQ = 0x10, BPF_JGT = 0x20, BPF_JGE = 0x30, BPF_JSET = 0x40;
// Operand source (ALU, jumps) and return value source.
export const BPF_K = 0x00, BPF_X = 0x08, BPF_A = 0x10;
// BPF_MISC operations.
export const BPF_TAX = 0x00, BPF_TXA = 0x80;

/** The most instructions a program may have (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;
/** Scratch memory slots M[0..15] (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;

export const BPF_CLASS = (code: number): number => code & 0x07;
export const BPF_SIZE = (code: number): number => code & 0x18;
export const BPF_MODE = (code: number): number => code & 0xe0;
export const BPF_OP = (code: number): number => code & 0xf0;
export const BPF_SRC = (code: number): number => code & 0x08;
export const BPF_RVAL = (code: number): number => code & 0x18;
export const BPF_MISCOP = (code: number): number => code & 0xf8;

/** Linux: loads from `SKF_AD_OFF + SKF_AD_x` read packet metadata, not bytes (as u32, two's complement of -0x1000). */
export const SKF_AD_OFF = 0xfffff000;
/** Linux: loads from `SKF_NET_OFF + n` read byte n of the network header. */
export const SKF_NET_OFF = 0xfff00000;
/** Linux: loads from `SKF_LL_OFF + n` read byte n of the link-layer header. */
export const SKF_LL_OFF = 0xffe00000;

/** Linux ancillary loads (`ld [SKF_AD_OFF + x]`), by name: the kernel's SKF_AD_* numbers. */
export const SKF_AD = Object.freeze({
  PROTOCOL: 0, PKTTYPE: 4, IFINDEX: 8, NLATTR: 12, NLATTR_NEST: 16, MARK: 20, QUEUE: 24, HATYPE: 28, RXHASH: 32, CPU: 36,
  ALU_XOR_X: 40, VLAN_TAG: 44, VLAN_TAG_PRESENT: 48, PAY_OFFSET: 52, RANDOM: 56, VLAN_TPID: 60,
});
/** The name of an ancillary load. */
export type AncillaryName = keyof typeof SKF_AD;
export const SKF_AD_MAX = 64;

// Every opcode the kernel's bpf_check_classic accepts (chk_code_allowed), and
// nothing else: the same set the VM and the disassembler know.
const ALLOWED = new Set<number>([
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH]
    .flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS, BPF_LD | BPF_W | BPF_LEN,
  BPF_LD | BPF_W | BPF_IND, BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND, BPF_LD | BPF_IMM, BPF_LD | BPF_MEM,
  BPF_LDX | BPF_W | BPF_LEN, BPF_LDX | BPF_B | BPF_MSH, BPF_LDX | BPF_IMM, BPF_LDX | BPF_MEM,
  BPF_ST, BPF_STX, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA, BPF_RET | BPF_K, BPF_RET | BPF_A,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

/** Whether the kernel accepts this opcode at all. */
export function isKnownOpcode(code: number): boolean {
  return ALLOWED.has(code);
}

/** A conditional jump (any of JEQ/JGT/JGE/JSET, K or X). */
export function isCondJump(code: number): boolean {
  return BPF_CLASS(code) === BPF_JMP && BPF_OP(code) !== BPF_JA;
}

function u32(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (v < -0x80000000 || v > 0xffffffff) throw new RangeError(`${what} must fit in 32 bits (got ${v})`);
  return v >>> 0;
}

function u8(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer`);
  if (v < 0 || v > 255) throw new RangeError(`${what} must be 0..255 (got ${v})`);
  return v;
}

/**
 * An instruction from its fields, checked: `code` 0..65535, `jt`/`jf`
 * 0..255, `k` a 32-bit integer (negative numbers are taken as their two's
 * complement, so `-4096` is SKF_AD_OFF).
 */
export function insn(code: number, jt: number, jf: number, k: number): BpfInsn {
  if (typeof code !== 'number' || !Number.isInteger(code)) throw new TypeError('code must be an integer');
  if (code < 0 || code > 0xffff) throw new RangeError(`code must be 0..65535 (got ${code})`);
  return { code, jt: u8(jt, 'jt'), jf: u8(jf, 'jf'), k: u32(k, 'k') };
}

/** Load sizes by name. */
export type Size = 'w' | 'h' | 'b';
const SIZES: Record<Size, number> = { w: BPF_W, h: BPF_H, b: BPF_B };
function size(s: Size): number {
  const v = SIZES[s];
  if (v === undefined || !Object.prototype.hasOwnProperty.call(SIZES, s)) throw new TypeError(`load size must be 'w', 'h' or 'b'`);
  return v;
}

/** ALU operations by name. */
export type AluOp = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'and' | 'or' | 'xor' | 'lsh' | 'rsh';
const ALU_OPS: Record<AluOp, number> = {
  add: BPF_ADD, sub: BPF_SUB, mul: BPF_MUL, div: BPF_DIV, mod: BPF_MOD, and: BPF_AND, or: BPF_OR, xor: BPF_XOR,
  lsh: BPF_LSH, rsh: BPF_RSH,
};
/** Conditional jumps by name. */
export type JmpOp = 'jeq' | 'jgt' | 'jge' | 'jset';
const JMP_OPS: Record<JmpOp, number> = { jeq: BPF_JEQ, jgt: BPF_JGT, jge: BPF_JGE, jset: BPF_JSET };

function pick<T extends string>(table: Record<T, number>, name: T, what: string): number {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(table, name)) {
    throw new TypeError(`${what} must be one of ${Object.keys(table).join(', ')} (got ${String(name)})`);
  }
  return table[name];
}

/**
 * Friendly constructors, one per instruction form. Each returns a checked
 * BpfInsn; jump offsets are relative (instructions skipped), as in the kernel.
 */
export const ins = Object.freeze({
  /** `ld{,h,b} [k]`: A = P[k:size] (big-endian). */
  ldAbs: (sz: Size, k: number): BpfInsn => insn(BPF_LD | size(sz) | BPF_ABS, 0, 0, k),
  /** `ld{,h,b} [x + k]`: A = P[X+k:size]. */
  ldInd: (sz: Size, k: number): BpfInsn => insn(BPF_LD | size(sz) | BPF_IND, 0, 0, k),
  /** `ld #k`: A = k. */
  ldImm: (k: number): BpfInsn => insn(BPF_LD | BPF_W | BPF_IMM, 0, 0, k),
  /** `ld M[k]`: A = M[k]. */
  ldMem: (k: number): BpfInsn => insn(BPF_LD | BPF_W | BPF_MEM, 0, 0, k),
  /** `ld #pktlen`: A = the packet's length. */
  ldLen: (): BpfInsn => insn(BPF_LD | BPF_W | BPF_LEN, 0, 0, 0),
  /** Linux: A = an ancillary value (`ld [SKF_AD_OFF + SKF_AD_x]`). */
  ldAnc: (name: AncillaryName, sz: Size = 'w'): BpfInsn =>
    insn(BPF_LD | size(sz) | BPF_ABS, 0, 0, (SKF_AD_OFF + pick(SKF_AD, name, 'ancillary load')) >>> 0),
  /** `ldx #k`: X = k. */
  ldxImm: (k: number): BpfInsn => insn(BPF_LDX | BPF_W | BPF_IMM, 0, 0, k),
  /** `ldx M[k]`: X = M[k]. */
  ldxMem: (k: number): BpfInsn => insn(BPF_LDX | BPF_W | BPF_MEM, 0, 0, k),
  /** `ldx #pktlen`: X = the packet's length. */
  ldxLen: (): BpfInsn => insn(BPF_LDX | BPF_W | BPF_LEN, 0, 0, 0),
  /** `ldxb 4*([k]&0xf)`: X = the IPv4 header length at byte k. */
  ldxMsh: (k: number): BpfInsn => insn(BPF_LDX | BPF_B | BPF_MSH, 0, 0, k),
  /** `st M[k]`: M[k] = A. */
  st: (k: number): BpfInsn => insn(BPF_ST, 0, 0, k),
  /** `stx M[k]`: M[k] = X. */
  stx: (k: number): BpfInsn => insn(BPF_STX, 0, 0, k),
  /** `op #k`: A = A op k. */
  alu: (op: AluOp, k: number): BpfInsn => insn(BPF_ALU | pick(ALU_OPS, op, 'ALU op') | BPF_K, 0, 0, k),
  /** `op x`: A = A op X. */
  aluX: (op: AluOp): BpfInsn => insn(BPF_ALU | pick(ALU_OPS, op, 'ALU op') | BPF_X, 0, 0, 0),
  /** `neg`: A = -A. */
  neg: (): BpfInsn => insn(BPF_ALU | BPF_NEG, 0, 0, 0),
  /** `ja +k`: skip k instructions. */
  ja: (k: number): BpfInsn => insn(BPF_JMP | BPF_JA, 0, 0, k),
  /** `jeq/jgt/jge/jset #k`: skip jt if A op k holds, else jf. */
  jmp: (op: JmpOp, k: number, jt: number, jf: number): BpfInsn => insn(BPF_JMP | pick(JMP_OPS, op, 'jump') | BPF_K, jt, jf, k),
  /** `jeq/jgt/jge/jset x`: skip jt if A op X holds, else jf. */
  jmpX: (op: JmpOp, jt: number, jf: number): BpfInsn => insn(BPF_JMP | pick(JMP_OPS, op, 'jump') | BPF_X, jt, jf, 0),
  /** `ret #k`: accept k bytes (0 drops). */
  ret: (k: number): BpfInsn => insn(BPF_RET | BPF_K, 0, 0, k),
  /** `ret a`: accept A bytes. */
  retA: (): BpfInsn => insn(BPF_RET | BPF_A, 0, 0, 0),
  /** `tax`: X = A. */
  tax: (): BpfInsn => insn(BPF_MISC | BPF_TAX, 0, 0, 0),
  /** `txa`: A = X. */
  txa: (): BpfInsn => insn(BPF_MISC | BPF_TXA, 0, 0, 0),
});
