// Password hashing with scrypt (node:crypto), run on libuv's thread pool so the event loop
// keeps serving while a hash is computed. Stored form: `scrypt$N$r$p$salt$hash`, salt and
// hash in unpadded base64url; verification uses the parameters stored with the hash, so the
// cost can be raised later without invalidating existing passwords: a login with a hash of
// other parameters stores a new one (needsRehash).
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { Bulkhead } from '@shoplab/chassis';
import type { PasswordHasher } from '../application/ports';

export interface ScryptParameters {
  N: number;
  r: number;
  p: number;
  saltBytes: number;
  keyBytes: number;
}

/** OWASP's Password Storage Cheat Sheet figure for scrypt: N=2^17, r=8, p=1 (128 MiB, ~0.4 s here). */
export const SCRYPT_DEFAULTS: ScryptParameters = { N: 2 ** 17, r: 8, p: 1, saltBytes: 16, keyBytes: 64 };

// Bounds for parameters read back from the database: a corrupted row must not make one
// verification allocate gigabytes.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_KEY_BYTES = 256;

function deriveKey(password: string, salt: Buffer, keyBytes: number, params: Pick<ScryptOptions, 'N' | 'r' | 'p'>) {
  const N = params.N ?? SCRYPT_DEFAULTS.N;
  const r = params.r ?? SCRYPT_DEFAULTS.r;
  const p = params.p ?? SCRYPT_DEFAULTS.p;
  // scrypt needs 128·N·r bytes (per lane); leave headroom over node's 32 MiB default.
  const maxmem = 128 * N * r * p + 32 * 1024 * 1024;
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyBytes, { N, r, p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const INTEGER = /^[1-9][0-9]{0,9}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The parts of `scrypt$N$r$p$salt$hash`, or undefined when it is not one we could have written. */
export function parseScryptHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (![n, r, p].every((x) => INTEGER.test(x)) || !BASE64URL.test(salt) || !BASE64URL.test(hash)) return undefined;
  const parsed = {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, 'base64url'),
    hash: Buffer.from(hash, 'base64url'),
  };
  const powerOfTwo = parsed.N > 1 && (parsed.N & (parsed.N - 1)) === 0;
  if (!powerOfTwo || parsed.N > MAX_N || parsed.r > MAX_R || parsed.p > MAX_P) return undefined;
  if (parsed.salt.length === 0 || parsed.hash.length === 0 || parsed.hash.length > MAX_KEY_BYTES) return undefined;
  return parsed;
}

/**
 * Hashes and verifies with at most `maxConcurrent` derivations at once (each takes 128·N·r bytes:
 * 128 MiB at 2^17, so a burst of logins cannot take the service past its memory limit); up to
 * `maxQueue` more wait, beyond that SHOP_BULKHEAD_FULL (503 with Retry-After).
 */
export class ScryptPasswordHasher implements PasswordHasher {
  private readonly slots: Bulkhead;

  constructor(
    private readonly params: ScryptParameters = SCRYPT_DEFAULTS,
    limits: { maxConcurrent: number; maxQueue: number } = { maxConcurrent: 4, maxQueue: 256 },
  ) {
    this.slots = new Bulkhead({ ...limits, name: 'password hashing' });
  }

  async hash(password: string): Promise<string> {
    const { N, r, p, saltBytes, keyBytes } = this.params;
    const salt = randomBytes(saltBytes);
    const key = await this.slots.run(() => deriveKey(password, salt, keyBytes, { N, r, p }));
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseScryptHash(stored);
    if (!parsed) return false;
    const key = await this.slots.run(() => deriveKey(password, parsed.salt, parsed.hash.length, parsed));
    return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
  }

  /** True when `stored` was written with other parameters than this hasher's (older, or unreadable). */
  needsRehash(stored: string): boolean {
    const parsed = parseScryptHash(stored);
    const { N, r, p, keyBytes } = this.params;
    return !parsed || parsed.N !== N || parsed.r !== r || parsed.p !== p || parsed.hash.length !== keyBytes;
  }
}
