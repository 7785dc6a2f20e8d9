// Classic BPF without a socket: the assembler against the kernel's own
// checker (an invalid program given as raw bytes must be refused by the
// kernel exactly where bpf.validate refuses it), the disassembler and the
// -dd/-ddd importer against tcpdump(8) as the independent peer, and the
// VM's semantics on crafted packets.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { k } from './helpers';

const { bpf } = k;
const { ins } = bpf;

const hasTcpdump = spawnSync('tcpdump', ['--version'], { timeout: 20_000 }).status === 0;
const tcpdump = (flag: string, expr: string): string => {
  const r = spawnSync('tcpdump', [flag, expr], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`tcpdump ${flag} '${expr}': ${r.stderr}`);
  return r.stdout;
};

// Expressions tcpdump compiles without an interface (Ethernet), covering every
// instruction form its code generator uses.
const EXPRS = [
  'udp and dst port 53', 'host 1.2.3.4', 'tcp[13] & 2 != 0', 'ip6 and net 2001:db8::/32', 'vlan 10 and udp', 'icmp or arp',
  'len > 100', 'ip[2:2] * 3 / 2 - 1 > 40 or ip[1] << 2 >> 1 | 1 = 3', 'ip[0] & 0xf ^ 5 != 0 and ip[3] % 7 = 1',
  'not tcp and src net 10.0.0.0/8', 'ether host 01:02:03:04:05:06', 'ip6 dst host fe80::1 and udp port 5353',
  'tcp port 80 or tcp port 443', 'greater 64 and less 1500', 'ip[9] - ip[8] > 0', 'ip[ip[0] & 0xf] = 1 or ip[4:4] + ip[8:4] != ip[12:4] - ip[16]',
  'ip[2] * ip[3] > ip[4] / ip[5] and ip[6] & ip[7] = ip[1] - ip[0]',
];

describe('the assembler', () => {
  it('assembles 8 bytes per instruction in host byte order, and fromBytes reads them back', () => {
    const p = [ins.ldAbs('h', 12), ins.jmp('jeq', 0x800, 0, 1), ins.ret(0xffff), ins.ret(0)];
    const b = bpf.assemble(p);
    expect(b.length).toBe(32);
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    expect(le ? b.readUInt16LE(0) : b.readUInt16BE(0)).toBe(0x28);
    expect(le ? b.readUInt32LE(4) : b.readUInt32BE(4)).toBe(12);
    expect([b[10], b[11]]).toEqual([0, 1]);
    expect(bpf.fromBytes(b)).toEqual(p);
    expect(() => bpf.fromBytes(Buffer.alloc(12))).toThrow(RangeError);
  });

  it('the constructors make the kernel opcodes (the numbers tcpdump -dd prints)', () => {
    expect(ins.ldAbs('w', 26)).toEqual({ code: 0x20, jt: 0, jf: 0, k: 26 });
    expect(ins.ldAbs('b', 23).code).toBe(0x30);
    expect(ins.ldInd('h', 16).code).toBe(0x48);
    expect(ins.ldxMsh(14).code).toBe(0xb1);
    expect(ins.ldLen().code).toBe(0x80);
    expect(ins.ldImm(7).code).toBe(0x00);
    expect(ins.ldxImm(7).code).toBe(0x01);
    expect(ins.ldMem(3).code).toBe(0x60);
    expect(ins.st(3).code).toBe(0x02);
    expect(ins.stx(3).code).toBe(0x03);
    expect(ins.jmp('jset', 0x1fff, 0, 1).code).toBe(0x45);
    expect(ins.jmpX('jgt', 0, 1).code).toBe(0x2d);
    expect(ins.alu('mod', 7).code).toBe(0x94);
    expect(ins.alu('xor', 7).code).toBe(0xa4);
    expect(ins.aluX('lsh').code).toBe(0x6c);
    expect(ins.neg().code).toBe(0x84);
    expect(ins.ret(0).code).toBe(0x06);
    expect(ins.retA().code).toBe(0x16);
    expect(ins.tax().code).toBe(0x07);
    expect(ins.txa().code).toBe(0x87);
    expect(ins.ldAnc('PROTOCOL', 'h')).toEqual({ code: 0x28, jt: 0, jf: 0, k: 0xfffff000 });
    expect(ins.ldAnc('VLAN_TAG_PRESENT').k).toBe(0xfffff000 + 48);
    expect(bpf.insn(0x28, 0, 0, -4096).k).toBe(0xfffff000);
  });

  // Each program, given to the kernel as raw bytes (no JavaScript check on
  // the way), must be refused with EINVAL; bpf.validate names why.
  const INVALID: [string, () => k.BpfInsn[], RegExp][] = [
    ['an unknown opcode', () => [bpf.insn(0xff, 0, 0, 0), ins.ret(0)], /unknown opcode/],
    ['a size the load form lacks (ldh #k)', () => [bpf.insn(0x08, 0, 0, 1), ins.ret(0)], /unknown opcode/],
    ['division by the constant 0', () => [ins.ldImm(1), bpf.insn(0x34, 0, 0, 0), ins.retA()], /division/],
    ['modulo by the constant 0', () => [ins.ldImm(1), bpf.insn(0x94, 0, 0, 0), ins.retA()], /division/],
    ['a shift by 32', () => [ins.ldImm(1), bpf.insn(0x64, 0, 0, 32), ins.retA()], /shift/],
    ['memory slot 16', () => [ins.ldImm(1), ins.st(16), ins.ret(0)], /M\[16\]/],
    ['a slot read before it is written', () => [ins.ldMem(2), ins.retA()], /before it is written/],
    ['a slot written on one path only', () => [ins.ldLen(), ins.jmp('jeq', 1, 0, 1), ins.st(0), ins.ldMem(0), ins.retA()], /before it is written/],
    ['a conditional jump past the end', () => [ins.ldLen(), ins.jmp('jeq', 1, 1, 0), ins.ret(0)], /past the end/],
    ['ja past the end', () => [ins.ja(1), ins.ret(0)], /past the end/],
    ['no ret at the end', () => [ins.ret(0), ins.ldLen()], /last instruction/],
    ['an unknown ancillary load', () => [bpf.insn(0x20, 0, 0, 0xfffff000 + 64), ins.retA()], /ancillary/],
  ];

  for (const [what, make, why] of INVALID) {
    it(`refuses ${what}, as the kernel does`, () => {
      const p = make();
      expect(() => bpf.validate(p)).toThrow(why);
      expect(() => bpf.assemble(p)).toThrow(RangeError);
      expect(bpf.check(p)).toMatch(why);
      // The kernel, given the same bytes behind JavaScript's back:
      const raw = Buffer.alloc(p.length * 8);
      p.forEach((x, i) => {
        const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
        if (le) { raw.writeUInt16LE(x.code, i * 8); raw.writeUInt32LE(x.k, i * 8 + 4); } else { raw.writeUInt16BE(x.code, i * 8); raw.writeUInt32BE(x.k, i * 8 + 4); }
        raw[i * 8 + 2] = x.jt;
        raw[i * 8 + 3] = x.jf;
      });
      const so = k.Socket.create('AF_INET', 'SOCK_DGRAM');
      try {
        expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', raw)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      } finally {
        void so.close();
      }
    });
  }

  it('accepts what the kernel accepts: the largest program, every ancillary load, a slot written on every path', () => {
    const so = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    try {
      const big = [...new Array<k.BpfInsn>(4095).fill(ins.ldLen()), ins.ret(0)];
      so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', big);
      expect(so.getsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER')).toEqual(bpf.validate(big));
      const anc = Object.keys(bpf.SKF_AD).map((n) => ins.ldAnc(n as keyof typeof bpf.SKF_AD));
      so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', [...anc, ins.ret(0)]);
      const paths = [ins.ldLen(), ins.jmp('jeq', 1, 0, 2), ins.st(0), ins.ja(1), ins.st(0), ins.ldMem(0), ins.retA()];
      expect(bpf.check(paths)).toBeNull();
      so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', paths);
      expect(so.getsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER')).toEqual(paths);
    } finally {
      void so.close();
    }
  });

  it('hostile programs are TypeError/RangeError before anything reaches the kernel', () => {
    const ok = ins.ret(0);
    const sparse: k.BpfInsn[] = [];
    sparse[3] = ok;
    expect(() => bpf.assemble(sparse)).toThrow(TypeError);
    expect(() => bpf.assemble([])).toThrow(RangeError);
    expect(() => bpf.assemble(new Array(4097).fill(ok))).toThrow(RangeError);
    expect(() => bpf.assemble([{ code: 6, jt: 0, jf: 0, k: 2 ** 32 }])).toThrow(RangeError);
    expect(() => bpf.assemble([{ code: 6, jt: 0, jf: 0, k: -(2 ** 31) - 1 }])).toThrow(RangeError);
    expect(() => bpf.assemble([{ code: 6, jt: 256, jf: 0, k: 0 }])).toThrow(RangeError);
    expect(() => bpf.assemble([{ code: 0x10006, jt: 0, jf: 0, k: 0 }])).toThrow(RangeError);
    expect(() => bpf.assemble([{ code: '6', jt: 0, jf: 0, k: 0 }])).toThrow(TypeError);
    expect(() => bpf.assemble([{ code: 6, jt: 0, jf: 0, k: 1.5 }])).toThrow(TypeError);
    expect(() => bpf.assemble([{ code: 6, jt: 0, jf: 0 }])).toThrow(TypeError);
    expect(() => bpf.assemble([null])).toThrow(TypeError);
    expect(() => bpf.assemble('ret #0')).toThrow(TypeError);
    expect(() => bpf.assemble(new Proxy([ok], {}))).not.toThrow();
    let reads = 0;
    const getter = { code: 6, jt: 0, jf: 0, get k() { reads++; return 1; } };
    expect(bpf.assemble([getter]).length).toBe(8);
    expect(reads).toBe(1);
    expect(() => ins.ldAbs('q' as 'w', 0)).toThrow(TypeError);
    expect(() => ins.alu('pow' as 'add', 0)).toThrow(TypeError);
    expect(() => ins.ldAnc('__proto__' as 'CPU')).toThrow(TypeError);
    expect(() => ins.jmp('jeq', 1, 300, 0)).toThrow(RangeError);
    const so = k.Socket.create('AF_INET', 'SOCK_DGRAM');
    try {
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', new Array(4097).fill(ok))).toThrow(RangeError);
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', sparse)).toThrow(TypeError);
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', 'udp')).toThrow(TypeError);
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', { code: 6 })).toThrow(TypeError);
      // Raw bytes: whole instructions, 1..4096 of them, or a RangeError from native (never a pointer).
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', Buffer.alloc(12))).toThrow(RangeError);
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', Buffer.alloc(0))).toThrow(RangeError);
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', Buffer.alloc(4097 * 8))).toThrow(RangeError);
      // A sock_fprog-shaped Buffer (len, pointer) is read as two instructions, not followed.
      const fake = Buffer.alloc(16);
      fake.writeUInt16LE(1, 0);
      fake.writeBigUInt64LE(0xdeadbeefn, 8);
      expect(() => so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', fake)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      // The kernel face: the same path.
      const sopt = new k.Sockopt();
      k.sockopt_init(sopt, k.SOL_SOCKET, k.SO_ATTACH_FILTER!, 12);
      expect(() => k.sosetopt(so, sopt)).toThrow(RangeError);
      k.sockopt_destroy(sopt);
      k.sockopt_init(sopt, k.SOL_SOCKET, k.SO_ATTACH_FILTER!, 8);
      bpf.assemble([ins.ret(7)]).copy(sopt.sopt_data!);
      expect(k.sosetopt(so, sopt)).toBe(0);
      k.sockopt_destroy(sopt);
      k.sockopt_init(sopt, k.SOL_SOCKET, k.SO_ATTACH_FILTER!, 0);
      expect(k.sogetopt(so, sopt)).toBe(0);
      expect(bpf.fromBytes(sopt.sopt_data!.subarray(0, sopt.sopt_size))).toEqual([ins.ret(7)]);
      // SO_GET_FILTER into a small buffer: whole instructions that fit, and the full size.
      so.setsockopt('SOL_SOCKET', 'SO_ATTACH_FILTER', new Array(200).fill(ins.ret(3)));
      const small = new k.Sockopt();
      k.sockopt_init(small, k.SOL_SOCKET, k.SO_ATTACH_FILTER!, 20);
      expect(k.sogetopt(so, small)).toBe(0);
      expect(small.sopt_retsize).toBe(1600);
      expect(bpf.fromBytes(small.sopt_data!.subarray(0, 16))).toEqual([ins.ret(3), ins.ret(3)]);
    } finally {
      void so.close();
    }
  });
});

describe('the disassembler and the tcpdump importer', () => {
  it('prints what tcpdump -d prints for hand-written programs', () => {
    const p = [
      ins.ldAbs('h', 12), ins.jmp('jeq', 0x800, 0, 8), ins.ldxMsh(14), ins.ldInd('b', 23), ins.alu('and', 0xf0), ins.alu('add', 5),
      ins.st(1), ins.ldxMem(1), ins.jmpX('jgt', 0, 1), ins.retA(), ins.ret(0),
    ];
    expect(bpf.disassemble(p).split('\n')).toEqual([
      '(000) ldh      [12]',
      '(001) jeq      #0x800           jt 2\tjf 10',
      '(002) ldxb     4*([14]&0xf)',
      '(003) ldb      [x + 23]',
      '(004) and      #0xf0',
      '(005) add      #5',
      '(006) st       M[1]',
      '(007) ldx      M[1]',
      '(008) jgt      x                jt 9\tjf 10',
      '(009) ret      ',
      '(010) ret      #0',
    ]);
    expect(bpf.disassembleOne(ins.ldAnc('VLAN_TAG_PRESENT', 'b'), 0)).toBe('(000) ldb      [-4048]');
    expect(bpf.disassembleOne(ins.ja(3), 5)).toBe('(005) ja       9');
    expect(bpf.disassembleOne(bpf.insn(0xff, 0, 0, 0), 0)).toBe('(000) unimp    0xff');
  });

  describe.runIf(hasTcpdump)(`against tcpdump ${hasTcpdump ? '' : '(skipped: tcpdump is not installed)'}`, () => {
    for (const e of EXPRS) {
      it(`'${e}': -dd imported, then disassembled, is tcpdump -d; -ddd imports the same program`, () => {
        const p = bpf.parseTcpdump(tcpdump('-dd', e));
        expect(bpf.disassemble(p)).toBe(tcpdump('-d', e).trimEnd());
        expect(bpf.parseTcpdump(tcpdump('-ddd', e))).toEqual(p);
        expect(bpf.toC(p)).toBe(tcpdump('-dd', e).trim());
        expect(bpf.fromBytes(bpf.assemble(p))).toEqual(p);
      });
    }
  });

  it('refuses text that is not tcpdump output, naming the line', () => {
    expect(() => bpf.parseTcpdump('{ 0x28, 0, 0, 0x0000000c },\nldh [12]')).toThrow(/line 2.*ldh \[12\]/);
    expect(() => bpf.parseTcpdump('3\n40 0 0 12\n6 0 0 0')).toThrow(/count says 3/);
    expect(() => bpf.parseTcpdump('')).toThrow(SyntaxError);
    expect(() => bpf.parseTcpdump('{ 0x28, 0, 0, 0x0000000c },')).toThrow(/last instruction/);
    expect(() => bpf.parseTcpdump(42 as unknown as string)).toThrow(TypeError);
  });
});
