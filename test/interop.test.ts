// An independent peer: CPython's socket module in a child process.
import { describe, expect, it } from 'vitest';
import { k, mk, python, hasPython, local } from './helpers';

describe.runIf(hasPython && k.features.unix_abstract)('abstract AF_UNIX names (Linux)', () => {
  it('interoperate with a peer that uses the exact name length (CPython)', async () => {
    const ours = `\0ksock-ours-${process.pid}`;
    const theirs = `ksock-py-${process.pid}`;
    const s = mk(k.AF_UNIX, k.SOCK_DGRAM);
    expect(k.sobind(s, { family: k.AF_UNIX, path: ours })).toBe(0);
    expect(s._local()).toEqual({ family: k.AF_UNIX, path: ours });
    // Python binds its own abstract name, sends to ours by its exact bytes,
    // waits for our reply and prints what it got and from whom.
    const py = python(`
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.settimeout(5)
s.bind(b'\\0' + sys.argv[2].encode())
s.sendto(b'ping from python', b'\\0' + sys.argv[1].encode())
data, addr = s.recvfrom(100)
print(data.decode(), repr(addr))
`, [ours.slice(1), theirs]);
    const paddr: k.Holder<k.SockaddrOut | null> = { value: null };
    const uio = new k.Uio(Buffer.alloc(64));
    expect(await k.soreceive(s, paddr, uio, null, null, null)).toBe(0);
    expect(uio.uio_iov[0]!.subarray(0, uio.moved).toString()).toBe('ping from python');
    // The source is exactly '\0' + name: no padding, no trailing NULs.
    expect(paddr.value).toEqual({ family: k.AF_UNIX, path: '\0' + theirs });
    expect(await k.sosend(s, paddr.value, null, Buffer.from('pong from ksock'), null, 0)).toBe(0);
    const out = await py.done;
    expect(out.trim()).toBe(`pong from ksock b'\\x00${ours.slice(1)}'`);
    k.soclose(s);
  });
});

describe.runIf(hasPython)('TCP and UDP with CPython', () => {
  it('a Python TCP client talks to a ksock listener', async () => {
    const l = mk(k.AF_INET, k.SOCK_STREAM);
    k.sobind(l, { family: k.AF_INET, address: '127.0.0.1', port: 0 });
    k.solisten(l, 1);
    const py = python(`
import socket, sys
c = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
c.sendall(b'hello ksock')
c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode())
`, [String(local(l).port)]);
    const aso: k.Holder<k.Socket | null> = { value: null };
    expect(await k.soaccept(l, aso)).toBe(0);
    const s = aso.value!;
    const uio = new k.Uio(Buffer.alloc(100));
    // Read to EOF with MSG_WAITALL: returns the short count at EOF, no error.
    expect(await k.soreceive(s, null, uio, null, null, { value: k.MSG_WAITALL })).toBe(0);
    expect(uio.uio_iov[0]!.subarray(0, uio.moved).toString()).toBe('hello ksock');
    expect(s.so_state & k.SS_CANTRCVMORE).toBeTruthy();
    expect(await k.sosend(s, null, null, Buffer.from('hello python'), null, 0)).toBe(0);
    expect(await py.done).toBe('hello python\n');
    k.soclose(s);
    k.soclose(l);
  });
});
