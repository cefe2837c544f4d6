import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyRequest } from 'fastify';
import { ShopError } from './errors';

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

/** Signs user tokens (HS256). Only the user service holds a signer. */
export function createTokenSigner(secret: string, expiresInSeconds = 3600) {
  const sign = createSigner({
    key: secret,
    algorithm: 'HS256',
    iss: JWT_ISSUER,
    aud: JWT_AUDIENCE,
    expiresIn: expiresInSeconds * 1000,
  });
  return (user: AuthenticatedUser): string => sign({ sub: user.id, email: user.email, name: user.name });
}

/** Verifies user tokens; every service that serves a user checks the token itself. */
export function createTokenVerifier(secret: string) {
  const verify = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedIss: JWT_ISSUER,
    allowedAud: JWT_AUDIENCE,
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
