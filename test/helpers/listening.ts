import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/** A TCP socket in the LISTEN state, as the kernel reports it. */
export interface ListeningSocket {
  /** `127.0.0.1`, `0.0.0.0`, `::`, `::1`, `::ffff:127.0.0.1`, … */
  readonly address: string;
  readonly port: number;
  readonly inode: number;
}

/** Whether this machine exposes its sockets in /proc (Linux). */
export const hasProcNet = (): boolean => existsSync('/proc/net/tcp') && existsSync('/proc/net/tcp6');

const LISTEN = '0A';

/** /proc/net/tcp{,6} hold addresses as 32-bit words in host (little-endian) byte order. */
const decodeAddress = (hex: string): string => {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) =>
    (word.match(/../g) ?? []).reverse().map((byte) => Number.parseInt(byte, 16)),
  );
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  const full = groups.join(':');
  return full === '0:0:0:0:0:0:0:0' ? '::' : full === '0:0:0:0:0:0:0:1' ? '::1' : full;
};

/** Every listening TCP socket of the machine (IPv4 and IPv6), from /proc/net. */
export const listeningSockets = (): ListeningSocket[] =>
  ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === LISTEN)
      .map((fields) => {
        const [address = '', port = '0'] = (fields[1] ?? '').split(':');
        return { address: decodeAddress(address), port: Number.parseInt(port, 16), inode: Number(fields[9]) };
      }),
  );

/** Whether an address is on the loopback interface only. */
export const isLoopback = (address: string): boolean =>
  /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address);

/** `pid` and every process descended from it. */
export const processTree = (pid: number): number[] => {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1)
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
};

/** The inodes of every socket the processes hold open. */
export const socketInodesOf = (pids: readonly number[]): Set<number> => {
  const inodes = new Set<number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(Number(match[1]));
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return inodes;
};

/** This machine's non-loopback IPv4 addresses: where a wrongly bound listener would be reachable. */
export const externalAddresses = (): string[] =>
  Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((address) => address.family === 'IPv4' && !address.internal)
    .map((address) => address.address);

/** Whether a TCP connection to `host:port` is accepted. */
export const accepts = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(5000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
