// The README is tested: every ```js block in README.md runs as a reader would
// run it — copied into a file of its own, `import … from 'ksock'` resolving to
// this package's built dist/index.mjs — and must exit 0 within BLOCK_TIMEOUT,
// write nothing to stderr, and print what its text says it prints.
//
// How a block says what it needs: HTML comments just above its fence
// (invisible when GitHub renders the README), one directive each:
//
//   <!-- readme-test: expect "1: lo" -->
//       this line is printed (a whole line of stdout; several expects must
//       appear in their order). Every block has at least one.
//   <!-- readme-test: needs CAP_NET_RAW -->
//       skipped, with that reason, where raw sockets cannot be created
//       (CAP_NET_ADMIN: where namespaces and links cannot be made — it
//       also asks for CAP_SYS_ADMIN; CAP_SYS_ADMIN: network
//       namespaces; iproute2: the ip command).
//   <!-- readme-test: peer python3 -u -m http.server 8080 --bind 127.0.0.1 -->
//       started first, in the block's directory (the command is split on
//       spaces; any lines after the first are the peer's stdin, e.g. a script
//       for `python3 -u -`). The block starts when the peer has printed its
//       first line (its "ready"); the peer is killed (its process group) when
//       the block ends, and if it ended by itself it must have exited 0.
//       A python3 peer where there is no python3 skips the block.
//
// Each block runs in a fresh temporary directory whose node_modules/ksock is a
// symlink to this checkout (what `npm install ksock` gives a reader), so
// relative paths in a block (a socket file, a log) stay in that directory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { k, hasPython, capEff } from './helpers';

const root = join(__dirname, '..');
// Blocks run in a directory of their own: an addon named by a relative
// KSOCK_NATIVE (the cmake-js and ASan passes) must be named absolutely there.
const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  ...(process.env.KSOCK_NATIVE ? { KSOCK_NATIVE: resolve(process.env.KSOCK_NATIVE) } : {}),
};
/** The JavaScript blocks README.md has today: a new one must be counted here, so none slips in untested. */
const BLOCK_COUNT = 20;
const BLOCK_TIMEOUT = 10_000;
const PEER_READY_TIMEOUT = 10_000;

interface Block {
  line: number; // of the opening fence, 1-based
  title: string; // the nearest heading or bold lead-in above it
  code: string;
  expects: string[];
  needs: string[];
  peer: { argv: string[]; stdin: string } | null;
}

function parseReadme(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let title = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^#+ /.test(l)) title = l.replace(/^#+ /, '');
    else if (/^\*\*[^*]+\*\*/.test(l)) title = /^\*\*([^*]+)\*\*/.exec(l)![1]!;
    const fence = /^(`{3,})(\S*)/.exec(l);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== fence[1]) end++;
    if (end === lines.length) throw new Error(`README.md:${i + 1}: unclosed code fence`);
    if (fence[2] === 'js') {
      const b: Block = { line: i + 1, title, code: lines.slice(i + 1, end).join('\n') + '\n', expects: [], needs: [], peer: null };
      for (const d of directivesAbove(lines, i)) {
        const m = /^(\w+)\s+([\s\S]*)$/.exec(d);
        if (!m) throw new Error(`README.md:${i + 1}: unreadable readme-test directive ${JSON.stringify(d)}`);
        const [, key, rest] = m;
        if (key === 'expect') {
          const q = /^"(.*)"$/.exec(rest!.trim());
          if (!q) throw new Error(`README.md:${i + 1}: expect takes one "quoted line"`);
          b.expects.push(q[1]!);
        } else if (key === 'needs') b.needs.push(rest!.trim());
        else if (key === 'peer') {
          const [first, ...script] = rest!.split('\n');
          b.peer = { argv: first!.trim().split(/\s+/), stdin: script.join('\n') };
        } else throw new Error(`README.md:${i + 1}: unknown readme-test directive ${key}`);
      }
      blocks.push(b);
    }
    i = end; // skip the block's body: a '#' in code is not a heading
  }
  return blocks;
}

/** The readme-test comments directly above line `fence` (blank lines allowed between), top to bottom. */
function directivesAbove(lines: string[], fence: number): string[] {
  const found: string[] = [];
  let j = fence - 1;
  for (let guard = 0; guard < 100 && j >= 0; guard++) {
    if (lines[j]!.trim() === '') { j--; continue; }
    if (!lines[j]!.trimEnd().endsWith('-->')) break;
    let start = j;
    while (start >= 0 && !lines[start]!.startsWith('<!--')) start--;
    if (start < 0) break;
    const body = lines.slice(start, j + 1).join('\n').replace(/^<!--\s*/, '').replace(/\s*-->\s*$/, '');
    if (!body.startsWith('readme-test:')) break;
    found.unshift(body.slice('readme-test:'.length).trim());
    j = start - 1;
  }
  return found;
}

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs a child to its end, killing its process group after `ms`. */
function run(argv: string[], cwd: string, ms: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => killGroup(child), ms);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr: signal ? `${stderr}\n(killed by ${signal} after ${ms} ms)` : stderr });
    });
  });
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL'); // the group: a launcher (pyenv's python3 shim) may have forked the real peer
  } catch {
    /* already gone */
  }
}

/** A peer started and ready (it printed a line), with a way to stop it and learn how it ended. */
async function startPeer(peer: NonNullable<Block['peer']>, cwd: string) {
  const child = spawn(peer.argv[0]!, peer.argv.slice(1), { cwd, env: childEnv, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
    child.on('error', (e) => {
      stderr += String(e);
      resolve({ code: null, signal: null }); // it never started
    });
  });
  const ready = new Promise<boolean>((resolve) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(true);
    });
    child.stderr!.on('data', (d) => (stderr += d));
    void closed.then(() => resolve(false));
  });
  child.stdin!.end(peer.stdin);
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([ready, new Promise<false>((r) => (timer = setTimeout(() => r(false), PEER_READY_TIMEOUT)))]);
  clearTimeout(timer);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  void closed.then((e) => (exited = e));
  const stop = async () => {
    const byItself = exited;
    if (!byItself) killGroup(child);
    await closed;
    return { byItself, stdout, stderr };
  };
  if (!ok) {
    await stop();
    throw new Error(`peer ${peer.argv.join(' ')} never became ready (printed no line in ${PEER_READY_TIMEOUT} ms):\n${stderr}`);
  }
  return { stop };
}

const caps = capEff();
/** What a block may need: raw sockets (root, or CAP_NET_RAW); namespaces and links (CAP_NET_ADMIN with CAP_SYS_ADMIN). */
const capable: Record<string, boolean> = {
  CAP_NET_RAW: k.features.raw_sockets,
  CAP_NET_ADMIN: ((caps >> 12n) & 1n) === 1n && ((caps >> 21n) & 1n) === 1n,
};
// Network namespaces: CAP_SYS_ADMIN in effect and a build that has them; ip(8) for blocks that call it.
capable.CAP_SYS_ADMIN = k.netns.supported && ((caps >> 21n) & 1n) === 1n;
capable.iproute2 = spawnSync('ip', ['-V'], { timeout: 5000 }).status === 0;

const blocks = parseReadme(readFileSync(join(root, 'README.md'), 'utf8'));

describe('README.md', () => {
  it(`has ${BLOCK_COUNT} JavaScript blocks, each saying what it prints`, () => {
    expect(blocks.map((b) => `${b.line} ${b.title}`)).toHaveLength(BLOCK_COUNT);
    for (const b of blocks) expect(b.expects.length, `README.md:${b.line} (${b.title}) has no readme-test expect`).toBeGreaterThan(0);
    for (const b of blocks) for (const n of b.needs) expect(Object.keys(capable), `README.md:${b.line}: unknown need ${n}`).toContain(n);
  });

  for (const [i, b] of blocks.entries()) {
    const missing = b.needs.filter((n) => !capable[n]);
    if (b.peer?.argv[0] === 'python3' && !hasPython) missing.push('python3');
    const name = `block ${i + 1} (line ${b.line}, ${b.title})${b.needs.length ? ` (needs ${b.needs.join(', ')})` : ''}${b.peer ? ` with peer ${b.peer.argv[0]}` : ''}`;
    it.skipIf(missing.length > 0)(name, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ksock-readme-'));
      try {
        mkdirSync(join(dir, 'node_modules'));
        symlinkSync(root, join(dir, 'node_modules', 'ksock'), 'dir');
        writeFileSync(join(dir, 'block.mjs'), b.code);
        const peer = b.peer ? await startPeer(b.peer, dir) : null;
        let r: Run;
        try {
          r = await run([process.execPath, 'block.mjs'], dir, BLOCK_TIMEOUT);
        } finally {
          const p = await peer?.stop();
          if (p?.byItself) expect(p.byItself.code, `the peer failed:\n${p.stderr}`).toBe(0);
        }
        expect(r.stderr, `README.md:${b.line}: stderr`).toBe('');
        expect(r.code, `README.md:${b.line}: exit status; stdout:\n${r.stdout}`).toBe(0);
        const out = r.stdout.split('\n');
        let at = 0;
        for (const e of b.expects) {
          const found = out.indexOf(e, at);
          expect(found, `README.md:${b.line}: expected the line ${JSON.stringify(e)} in order; stdout:\n${r.stdout}`).toBeGreaterThanOrEqual(0);
          at = found + 1;
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, BLOCK_TIMEOUT + PEER_READY_TIMEOUT + 5_000);
  }
});
