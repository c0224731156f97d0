/**
 * Just enough PEM and DER for private keys, without `Buffer` or `node:crypto`: Web Crypto imports
 * only PKCS#8, so PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) keys are wrapped into
 * PKCS#8 here, and the key type is read from the PKCS#8 AlgorithmIdentifier to pick a default alg.
 */

const OID = {
  rsaEncryption: '2a864886f70d010101',
  rsassaPss: '2a864886f70d01010a',
  ecPublicKey: '2a8648ce3d0201',
  p256: '2a8648ce3d030107',
  p384: '2b81040022',
  p521: '2b81040023',
  ed25519: '2b6570',
} as const;

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64.replace(/\s+/g, ''));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

interface Tlv {
  tag: number;
  /** Offset of the contents. */
  start: number;
  /** Offset just past the contents. */
  end: number;
}

function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new TypeError('truncated DER');
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new TypeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] ?? Number.NaN);
    start += count;
  }
  const end = start + length;
  if (!Number.isInteger(end) || end > der.length) throw new TypeError('truncated DER');
  return { tag, start, end };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function encodeLength(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) out.unshift(n % 256);
  return [0x80 | out.length, ...out];
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array([tag, ...encodeLength(length), ...new Uint8Array(length)]);
  let offset = out.length - length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function fromHex(value: string): Uint8Array {
  return new Uint8Array(value.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** PrivateKeyInfo (RFC 5208 §5) around a key of the given algorithm. */
function wrapPkcs8(algorithm: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return tlv(0x30, tlv(0x02, new Uint8Array([0])), tlv(0x30, algorithm), tlv(0x04, privateKey));
}

/** The PEM as PKCS#8 (PEM text and DER bytes). Throws TypeError for anything else, encrypted keys included. */
export function pemToPkcs8(pem: string): { pem: string; der: Uint8Array } {
  const match = /-----BEGIN (PRIVATE KEY|RSA PRIVATE KEY|EC PRIVATE KEY)-----([A-Za-z0-9+/=\s]+)-----END \1-----/.exec(pem);
  if (!match) throw new TypeError('no PKCS#8, PKCS#1 or SEC1 private key PEM block');
  const inner = base64ToBytes(match[2]!);
  let der: Uint8Array;
  if (match[1] === 'PRIVATE KEY') der = inner;
  else if (match[1] === 'RSA PRIVATE KEY') der = wrapPkcs8(new Uint8Array([...tlv(0x06, fromHex(OID.rsaEncryption)), 0x05, 0x00]), inner);
  else der = wrapPkcs8(new Uint8Array([...tlv(0x06, fromHex(OID.ecPublicKey)), ...tlv(0x06, fromHex(sec1Curve(inner)))]), inner);
  return { pem: `-----BEGIN PRIVATE KEY-----\n${bytesToBase64(der).replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----`, der };
}

/** The named-curve OID (hex) of a SEC1 ECPrivateKey (RFC 5915 §3), from its `[0] parameters`. */
function sec1Curve(der: Uint8Array): string {
  const outer = readTlv(der, 0);
  let offset = outer.start;
  while (offset < outer.end) {
    const field = readTlv(der, offset);
    if (field.tag === 0xa0) {
      const oid = readTlv(der, field.start);
      if (oid.tag === 0x06) return hex(der.subarray(oid.start, oid.end));
    }
    offset = field.end;
  }
  throw new TypeError('SEC1 key without named-curve parameters');
}

/** The key type named by a PKCS#8 PrivateKeyInfo's AlgorithmIdentifier. */
export function pkcs8KeyType(der: Uint8Array): 'rsa' | 'rsa-pss' | 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'unknown' {
  const info = readTlv(der, 0);
  if (info.tag !== 0x30) throw new TypeError('not a PKCS#8 PrivateKeyInfo');
  const version = readTlv(der, info.start);
  const algorithm = readTlv(der, version.end);
  const oid = readTlv(der, algorithm.start);
  if (version.tag !== 0x02 || algorithm.tag !== 0x30 || oid.tag !== 0x06) throw new TypeError('not a PKCS#8 PrivateKeyInfo');
  const name = hex(der.subarray(oid.start, oid.end));
  if (name === OID.rsaEncryption) return 'rsa';
  if (name === OID.rsassaPss) return 'rsa-pss';
  if (name === OID.ed25519) return 'Ed25519';
  if (name === OID.ecPublicKey && oid.end < algorithm.end) {
    const curve = readTlv(der, oid.end);
    const value = hex(der.subarray(curve.start, curve.end));
    return value === OID.p256 ? 'P-256' : value === OID.p384 ? 'P-384' : value === OID.p521 ? 'P-521' : 'unknown';
  }
  return 'unknown';
}
