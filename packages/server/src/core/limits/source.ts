/**
 * The "source" a per-address limit counts: the caller's IP address, with IPv4-mapped IPv6
 * (`::ffff:a.b.c.d`) read as IPv4, and an IPv6 address reduced to its /64 — one end site gets a
 * whole /64, so counting single IPv6 addresses would let one attacker rotate through 2^64 of them.
 */
import { isIP } from 'node:net';

export function sourceKey(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const bytes = ipv6Bytes(address);
  if (!bytes) return address;
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(':')}::/64`;
}

/** The 16 bytes of an IPv6 address (zone id dropped; embedded dotted IPv4 accepted); undefined if malformed. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  let a = address.replace(/%.*$/, '');
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (dotted) {
    const o = dotted.slice(1).map(Number);
    if (o.some((x) => x > 255)) return undefined;
    a = a.slice(0, dotted.index) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  return out;
}
