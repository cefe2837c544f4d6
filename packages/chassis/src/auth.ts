import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyRequest } from 'fastify';
import { ShopError } from './errors';
import { parsePrivateKey, parsePublicKey, pemOf } from './keys';

/** Who the caller is, from a verified JWT. */
export interface AuthenticatedUser {
  id: string;
  email: string;
  name: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireUser`; undefined on routes that do not require one. */
    user?: AuthenticatedUser;
  }
}

export const JWT_ISSUER = 'shoplab-user';
export const JWT_AUDIENCE = 'shoplab';

/**
 * Signs user tokens with EdDSA (Ed25519). Only the user service holds the private key
 * (`JWT_PRIVATE_KEY`); every other service verifies with the public key, so none of them can
 * make a token. `privateKey` is a setting: base64 PKCS#8 DER or PEM (keys.ts).
 */
export function createTokenSigner(privateKey: string, expiresInSeconds = 3600) {
  const sign = createSigner({
    key: pemOf(parsePrivateKey(privateKey)),
    algorithm: 'EdDSA',
    iss: JWT_ISSUER,
    aud: JWT_AUDIENCE,
    expiresIn: expiresInSeconds * 1000,
  });
  return (user: AuthenticatedUser): string => sign({ sub: user.id, email: user.email, name: user.name });
}

/**
 * Verifies user tokens with the user service's public key (`JWT_PUBLIC_KEY`); every service that
 * serves a user checks the token itself. Only EdDSA is accepted, and `exp` is required.
 */
export function createTokenVerifier(publicKey: string) {
  const verify = createVerifier({
    key: pemOf(parsePublicKey(publicKey)),
    algorithms: ['EdDSA'],
    allowedIss: JWT_ISSUER,
    allowedAud: JWT_AUDIENCE,
    requiredClaims: ['exp', 'sub'],
    cache: 1000,
  });
  return (token: string): AuthenticatedUser => {
    try {
      const claims = verify(token) as { sub?: unknown; email?: unknown; name?: unknown };
      if (typeof claims.sub !== 'string') throw new ShopError('SHOP_UNAUTHENTICATED', 'The token names no user');
      return { id: claims.sub, email: String(claims.email ?? ''), name: String(claims.name ?? '') };
    } catch (err) {
      if (err instanceof ShopError) throw err;
      const expired = err instanceof TokenError && err.code === TokenError.codes.expired;
      throw new ShopError('SHOP_UNAUTHENTICATED', expired ? 'The token has expired' : 'The token is not valid');
    }
  };
}

/** An onRequest hook (runs before body validation) that requires `Authorization: Bearer <user JWT>` and sets `request.user`. */
export function requireUser(verify: (token: string) => AuthenticatedUser) {
  return async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      throw new ShopError('SHOP_UNAUTHENTICATED', 'Sign in first: Authorization: Bearer <token>');
    }
    request.user = verify(header.slice('Bearer '.length).trim());
  };
}
