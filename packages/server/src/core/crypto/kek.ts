/**
 * Key-encryption key (KEK): AES-256-GCM envelope for private signing keys and for the secrets of
 * client_secret_jwt clients. The ciphertext is bound to its purpose by associated data, so a value
 * copied into another row (another realm, kid or client) fails to decrypt.
 *
 * Format: "v1." + base64url(iv[12] || tag[16] || ciphertext).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export interface KeyEncryptionKey {
  encrypt(plaintext: Buffer, associatedData: string): string;
  decrypt(ciphertext: string, associatedData: string): Buffer;
  /** A keyed fingerprint (HMAC-SHA256 under a key derived from the KEK for `purpose`), base64url: compare values without storing them. */
  fingerprint(data: string, purpose: string): string;
}

export function createKek(key: Buffer): KeyEncryptionKey {
  if (key.length !== 32) throw new TypeError('the key-encryption key must be 32 bytes');
  const k = Buffer.from(key);
  return {
    encrypt(plaintext, associatedData) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', k, iv);
      cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return 'v1.' + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    fingerprint(data, purpose) {
      const macKey = Buffer.from(hkdfSync('sha256', k, Buffer.alloc(0), `tessera fingerprint:${purpose}`, 32));
      return createHmac('sha256', macKey).update(data, 'utf8').digest('base64url');
    },
    decrypt(ciphertext, associatedData) {
      if (!ciphertext.startsWith('v1.')) throw new Error('unknown ciphertext format');
      const raw = Buffer.from(ciphertext.slice(3), 'base64url');
      if (raw.length < 28) throw new Error('ciphertext too short');
      const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    },
  };
}

/** Parses a KEK given as base64/base64url (32 bytes) or 64 hex characters. */
export function parseKek(text: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64url');
  if (buf.length !== 32) throw new TypeError('the key-encryption key must decode to 32 bytes (base64url or hex)');
  return buf;
}
