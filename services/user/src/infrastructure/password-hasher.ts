// Password hashing with scrypt (node:crypto), run on libuv's thread pool so the event loop
// keeps serving while a hash is computed. Stored form: `scrypt$N$r$p$salt$hash`, salt and
// hash in unpadded base64url; verification uses the parameters stored with the hash, so the
// cost can be raised later without invalidating existing passwords.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import type { PasswordHasher } from '../application/ports';

export interface ScryptParameters {
  N: number;
  r: number;
  p: number;
  saltBytes: number;
  keyBytes: number;
}

export const SCRYPT_DEFAULTS: ScryptParameters = { N: 16384, r: 8, p: 1, saltBytes: 16, keyBytes: 64 };

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

export class ScryptPasswordHasher implements PasswordHasher {
  constructor(private readonly params: ScryptParameters = SCRYPT_DEFAULTS) {}

  async hash(password: string): Promise<string> {
    const { N, r, p, saltBytes, keyBytes } = this.params;
    const salt = randomBytes(saltBytes);
    const key = await deriveKey(password, salt, keyBytes, { N, r, p });
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseScryptHash(stored);
    if (!parsed) return false;
    const key = await deriveKey(password, parsed.salt, parsed.hash.length, parsed);
    return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
  }
}
