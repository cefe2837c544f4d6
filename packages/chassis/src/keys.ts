// Ed25519 keys as settings: one line each, so they fit an env file, a compose variable and a
// Kubernetes Secret. A key is its DER encoding in base64 (PKCS#8 for a private key, SPKI for a
// public one: `openssl genpkey -algorithm ed25519 -outform DER | base64 -w0`), or a PEM block.
// scripts/lib/secrets.sh generates them.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

const isPem = (text: string) => text.startsWith('-----BEGIN');

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} is a ${key.asymmetricKeyType} key, not Ed25519`);
  return key;
}

/** An Ed25519 private key from a setting (base64 PKCS#8 DER, or PEM); throws on anything else. */
export function parsePrivateKey(value: string): KeyObject {
  const text = value.trim();
  const key = isPem(text)
    ? createPrivateKey(text)
    : createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
  return ed25519(key, 'the private key');
}

/** An Ed25519 public key from a setting (base64 SPKI DER, or PEM); throws on anything else. */
export function parsePublicKey(value: string): KeyObject {
  const text = value.trim();
  const key = isPem(text)
    ? createPublicKey(text)
    : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  return ed25519(key, 'the public key');
}

/** The PEM text fast-jwt signs and verifies with. */
export function pemOf(key: KeyObject): string {
  return key.type === 'private'
    ? (key.export({ format: 'pem', type: 'pkcs8' }) as string)
    : (key.export({ format: 'pem', type: 'spki' }) as string);
}

/** A new Ed25519 key pair in the settings' form (base64 DER): for tests and tools. */
export function generateKeyPairSetting(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

/** The public key (base64 SPKI DER) of a private key setting. */
export function publicKeySettingOf(privateKey: string): string {
  return createPublicKey(parsePrivateKey(privateKey)).export({ format: 'der', type: 'spki' }).toString('base64');
}
