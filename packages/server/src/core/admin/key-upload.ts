/**
 * Client key upload: a JWK, a JWK Set, a PEM public key or an X.509 certificate (PEM) becomes
 * public JWKs (a certificate's with `x5c`, so `x5t` / `x5t#S256` lookups find it). Private key
 * material is refused with a clear error, never stored.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { AdminError } from '../errors/index.ts';
import type { Jwk } from '../ports/index.ts';
import { jwkThumbprint } from '../keys/key-manager.ts';
import type { ClientKeyUpload } from './types.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function refuse(message: string): never {
  throw new AdminError('invalid_key', message);
}

function fromKeyObject(key: KeyObject, extra: Partial<Jwk> = {}): Jwk {
  if (key.type !== 'public') refuse('private key material is never accepted: upload the public key only');
  const jwk = key.export({ format: 'jwk' }) as Jwk;
  const out: Jwk = { ...jwk, ...extra };
  out.kid ??= jwkThumbprint(out);
  return out;
}

function fromJwk(input: Record<string, unknown>, where: string): Jwk {
  if (typeof input.kty !== 'string') refuse(`${where}: not a JWK (no kty)`);
  if (input.kty === 'oct') refuse(`${where}: a symmetric key (kty oct) is secret material; upload a public key`);
  const priv = PRIVATE_MEMBERS.filter((m) => m in input);
  if (priv.length > 0) refuse(`${where}: holds private key material (${priv.join(', ')}); upload the public key only`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: input as never, format: 'jwk' });
  } catch (err) {
    refuse(`${where}: not a usable public key (${(err as Error).message})`);
  }
  const out: Jwk = { ...(input as Jwk) };
  if (Array.isArray(out.x5c)) {
    // The certificate must hold this very key.
    try {
      const cert = new X509Certificate(Buffer.from(String(out.x5c[0]), 'base64'));
      if (!cert.publicKey.equals(key)) refuse(`${where}: x5c[0] does not certify this key`);
    } catch (err) {
      if (err instanceof AdminError) throw err;
      refuse(`${where}: x5c[0] is not a DER certificate in base64`);
    }
  }
  out.kid ??= jwkThumbprint(out);
  return out;
}

/** Parses an upload into the JWKs to add. Throws AdminError('invalid_key'). */
export function parseKeyUpload(upload: ClientKeyUpload): Jwk[] {
  if (typeof upload === 'string') {
    const text = upload.trim();
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) refuse('a PEM private key is never accepted: upload the public key or the certificate');
    if (text.includes('-----BEGIN CERTIFICATE-----')) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(text);
      } catch (err) {
        refuse(`not a readable X.509 certificate (${(err as Error).message})`);
      }
      const validTo = Date.parse(cert.validTo);
      if (Number.isFinite(validTo) && validTo < Date.now()) refuse(`the certificate expired on ${cert.validTo}`);
      return [fromKeyObject(cert.publicKey, { x5c: [cert.raw.toString('base64')] })];
    }
    if (text.includes('-----BEGIN PUBLIC KEY-----') || text.includes('-----BEGIN RSA PUBLIC KEY-----')) {
      try {
        return [fromKeyObject(createPublicKey(text))];
      } catch (err) {
        if (err instanceof AdminError) throw err;
        refuse(`not a readable PEM public key (${(err as Error).message})`);
      }
    }
    if (text.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        refuse('not JSON, a PEM public key or a PEM certificate');
      }
      return parseKeyUpload(parsed as Record<string, unknown>);
    }
    refuse('expected a JWK, a JWK Set, a PEM public key (BEGIN PUBLIC KEY) or a PEM certificate (BEGIN CERTIFICATE)');
  }
  if (upload === null || typeof upload !== 'object' || Array.isArray(upload)) refuse('expected a JWK or a JWK Set object');
  if ('keys' in upload) {
    const keys = (upload as { keys: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0) refuse('a JWK Set needs a non-empty keys array');
    return keys.map((k, i) => {
      if (k === null || typeof k !== 'object' || Array.isArray(k)) refuse(`keys.${i}: not a JWK object`);
      return fromJwk(k as Record<string, unknown>, `keys.${i}`);
    });
  }
  return [fromJwk(upload, 'key')];
}
