/**
 * Which addresses a server-side fetch (a client's `jwks_uri`) may connect to (issue 13 item 9).
 * Refused by default: loopback, "this network", private (RFC 1918), carrier-grade NAT, link-local
 * (incl. the 169.254.169.254 cloud metadata service), benchmarking, documentation, multicast and
 * reserved IPv4; and the IPv6 unspecified, loopback, unique-local (incl. fd00:ec2::254),
 * link-local, site-local, multicast, documentation and discard ranges. IPv4 embedded in IPv6 —
 * mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) —
 * is judged as the IPv4 address it carries. Teredo (2001::/32) is refused outright.
 * An allow-list of addresses / CIDR ranges opens exceptions (e.g. loopback key servers in tests).
 */
import { isIP } from 'node:net';
import { ipv6Bytes } from '../limits/source.ts';

interface Range {
  bytes: Uint8Array;
  bits: number;
  label: string;
}

const V4_BLOCKED = [
  ['0.0.0.0/8', 'this-network'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade-nat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'ietf-protocol'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4-relay'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
] as const;

const V6_BLOCKED = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['100::/64', 'discard'],
  ['2001::/32', 'teredo'],
  ['2001:db8::/32', 'documentation'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
] as const;

/** Any address as 16 bytes: IPv4 becomes ::ffff:a.b.c.d. */
function toBytes(address: string): Uint8Array | undefined {
  const a = address.replace(/^\[|\]$/g, '');
  const kind = isIP(a.replace(/%.*$/, ''));
  if (kind === 4) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    a.split('.').forEach((o, i) => (out[12 + i] = Number(o)));
    return out;
  }
  if (kind === 6) return ipv6Bytes(a);
  return undefined;
}

function parseRange(spec: string, label: string): Range {
  const [addr, len] = spec.split('/') as [string, string | undefined];
  const bytes = toBytes(addr);
  if (!bytes) throw new TypeError(`not an IP address or CIDR range: ${spec}`);
  const v4 = isIP(addr) === 4;
  const max = v4 ? 32 : 128;
  const n = len === undefined ? max : Number(len);
  if (!/^\d+$/.test(len ?? '0') || n > max) throw new TypeError(`bad prefix length in ${spec}`);
  return { bytes, bits: v4 ? 96 + n : n, label };
}

function inRange(b: Uint8Array, r: Range): boolean {
  let bits = r.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[i]! & mask) !== (r.bytes[i]! & mask)) return false;
  }
  return true;
}

const BLOCKED: Range[] = [...V4_BLOCKED.map(([s, l]) => parseRange(s, l)), ...V6_BLOCKED.map(([s, l]) => parseRange(s, l))];

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), as ::ffff:a.b.c.d bytes. */
function embeddedV4(b: Uint8Array): Uint8Array | undefined {
  const v4 = (offset: number) => {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(b.subarray(offset, offset + 4), 12);
    return out;
  };
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return undefined; // already the IPv4 form
  if (zeros(0, 12) && !zeros(12, 15)) return v4(12); // ::a.b.c.d (deprecated compatible form)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12); // 64:ff9b::/96
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2); // 2002:AABB:CCDD::/48
  return undefined;
}

export class AddressPolicy {
  readonly #allow: Range[];

  /** `allow`: addresses or CIDR ranges (IPv4 or IPv6) that may be fetched from whatever their kind. */
  constructor(allow: readonly string[] = []) {
    this.#allow = allow.map((s) => parseRange(s.trim(), 'allowed'));
  }

  /** True when the address is on the allow-list (then plain http is accepted too). */
  allowed(address: string): boolean {
    const b = toBytes(address);
    return b !== undefined && this.#allow.some((r) => inRange(b, r));
  }

  /**
   * Why a connection to `address` is refused (the kind of range, e.g. "loopback"), or undefined
   * when it may be made. Malformed addresses are refused.
   */
  refusal(address: string): string | undefined {
    const b = toBytes(address);
    if (!b) return 'not-an-ip-address';
    if (this.#allow.some((r) => inRange(b, r))) return undefined;
    const hit = BLOCKED.find((r) => inRange(b, r));
    if (hit) return hit.label;
    const inner = embeddedV4(b);
    if (inner) {
      if (this.#allow.some((r) => inRange(inner, r))) return undefined;
      const innerHit = BLOCKED.find((r) => inRange(inner, r));
      if (innerHit) return `${innerHit.label} (embedded IPv4)`;
    }
    return undefined;
  }
}
