// Who is calling: a service credential on every internal gRPC call, and the user's token on the
// calls the gateway makes for a user (docs/architecture.md#trust-boundaries, ADR 33).
//
// Each service holds its own Ed25519 private key (SERVICE_PRIVATE_KEY) and every service knows the
// public keys of all of them (SERVICE_PUBLIC_KEYS). A client signs a short-lived token per target
// (`iss: service:<caller>`, `aud: service:<target>`, `exp` one minute ahead by default) and sends
// it as the `shop-service-token` header; the server verifies it with the caller's public key, so
// the name is proved, not claimed, and then looks the caller up in GRPC_CALLERS (the gRPC rows of
// k8s/allowed-callers.yaml): no token or a bad one is UNAUTHENTICATED, a caller not in the row is
// PERMISSION_DENIED. Both are a caller's mistake (resilience.ts): never retried, never counted by
// a breaker, 401/403 at the gateway, never a 5xx.
//
// A call the gateway makes for a user also carries that user's JWT (`shop-user-token`), checked
// with the user service's public key; a handler of a user-scoped method calls
// `requireCallUser(ctx, request.userId)`, so a call for user A with user B's token is
// PERMISSION_DENIED. Services that act on their own (order's checkout saga calling cart and user
// after the user's request has ended) are trusted by their credential and their row.
import type * as grpc from '@grpc/grpc-js';
import { createDecoder, createSigner, createVerifier } from 'fast-jwt';
import { GRPC_CALLERS } from './allowed-callers';
import { type AuthenticatedUser, createTokenVerifier } from './auth';
import { ShopError } from './errors';
import { parsePrivateKey, parsePublicKey, pemOf } from './keys';

/** Request header: the calling service's signed token. */
export const SERVICE_TOKEN_METADATA = 'shop-service-token';
/** Request header: the JWT of the user a call is made for (forwarded by the gateway). */
export const USER_TOKEN_METADATA = 'shop-user-token';

/** The callers whose calls are always made for a user: they must forward the user's token. */
export const USER_FACING_CALLERS: readonly string[] = ['gateway'];

const principal = (service: string) => `service:${service}`;

/** Signs this service's tokens: one per target, reused until half its lifetime has passed. */
export class ServiceCredential {
  private readonly sign: (claims: Record<string, unknown>) => string;
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();

  constructor(
    readonly service: string,
    privateKey: string,
    private readonly ttlSeconds = 60,
    private readonly now: () => number = Date.now,
  ) {
    this.sign = createSigner({
      key: pemOf(parsePrivateKey(privateKey)),
      algorithm: 'EdDSA',
      iss: principal(service),
      expiresIn: ttlSeconds * 1000,
    });
  }

  /** The token to send to `target`. */
  tokenFor(target: string): string {
    const now = this.now();
    const cached = this.tokens.get(target);
    if (cached && now < cached.renewAt) return cached.token;
    const token = this.sign({ aud: principal(target), sub: this.service });
    this.tokens.set(target, { token, renewAt: now + (this.ttlSeconds * 1000) / 2 });
    return token;
  }
}

let processCredential: ServiceCredential | undefined;

/** Sets the credential every GrpcClient of this process sends (createServiceKit does, from SERVICE_PRIVATE_KEY). */
export function useServiceCredential(credential: ServiceCredential | undefined): void {
  processCredential = credential;
}

/** The process' credential, if it has one. */
export function currentServiceCredential(): ServiceCredential | undefined {
  return processCredential;
}

/** The caller of one call, as the server proved it. */
export interface CallIdentity {
  /** The verified calling service. */
  caller: string;
  /** The user the call is made for, from a verified forwarded token. */
  user: AuthenticatedUser | undefined;
  /** True when the caller must name its user: a user-scoped method checks the user (requireCallUser). */
  actsForUser: boolean;
}

export interface ServiceAuthOptions {
  /** This service (`payment`): the audience of the tokens it accepts and its row in `callers`. */
  service: string;
  /** Every caller's public key (base64 SPKI DER or PEM), by service name. */
  publicKeys: Record<string, string>;
  /** target → allowed callers; GRPC_CALLERS by default. */
  callers?: Readonly<Record<string, readonly string[]>>;
  /** The user service's public key: forwarded user tokens are verified with it. */
  userTokenPublicKey?: string;
}

/** Checks the credential of every incoming call (the chassis' gRPC server runs it before a handler). */
export class ServiceAuthenticator {
  private readonly decode = createDecoder();
  private readonly verifiers = new Map<string, (token: string) => unknown>();
  private readonly allowed: ReadonlySet<string>;
  private readonly verifyUser: ((token: string) => AuthenticatedUser) | undefined;

  constructor(options: ServiceAuthOptions) {
    for (const [name, key] of Object.entries(options.publicKeys)) {
      this.verifiers.set(
        name,
        createVerifier({
          key: pemOf(parsePublicKey(key)),
          algorithms: ['EdDSA'],
          allowedIss: principal(name),
          allowedAud: principal(options.service),
          allowedSub: name,
          requiredClaims: ['exp', 'iss', 'aud', 'sub'],
          cache: 100,
        }),
      );
    }
    this.allowed = new Set((options.callers ?? GRPC_CALLERS)[options.service] ?? []);
    this.verifyUser = options.userTokenPublicKey ? createTokenVerifier(options.userTokenPublicKey) : undefined;
  }

  /** The proved caller of a call to `method`, or a ShopError: UNAUTHENTICATED or PERMISSION_DENIED. */
  authenticate(metadata: grpc.Metadata, method: string): CallIdentity {
    const token = metadata.get(SERVICE_TOKEN_METADATA)[0];
    if (typeof token !== 'string' || !token) {
      throw new ShopError('SHOP_UNAUTHENTICATED', `${method} needs a service credential (${SERVICE_TOKEN_METADATA})`);
    }
    const caller = this.claimedCaller(token);
    const verify = caller ? this.verifiers.get(caller) : undefined;
    if (!caller || !verify) {
      throw new ShopError('SHOP_UNAUTHENTICATED', 'The service credential names no known service');
    }
    try {
      verify(token);
    } catch {
      throw new ShopError('SHOP_UNAUTHENTICATED', `The service credential of ${caller} is not valid or has expired`);
    }
    if (!this.allowed.has(caller)) {
      throw new ShopError('SHOP_FORBIDDEN', `${caller} may not call ${method}`, { caller });
    }
    const userToken = metadata.get(USER_TOKEN_METADATA)[0];
    let user: AuthenticatedUser | undefined;
    if (typeof userToken === 'string' && userToken) {
      if (!this.verifyUser) throw new ShopError('SHOP_UNAUTHENTICATED', 'This service cannot verify user tokens');
      user = this.verifyUser(userToken);
    }
    return { caller, user, actsForUser: USER_FACING_CALLERS.includes(caller) };
  }

  private claimedCaller(token: string): string | undefined {
    try {
      const claims = this.decode(token) as { iss?: unknown };
      return typeof claims.iss === 'string' && claims.iss.startsWith('service:')
        ? claims.iss.slice('service:'.length)
        : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * In a handler of a user-scoped method: the call must be made for `userId`. A caller that serves
 * users (the gateway) must forward that user's token — none is UNAUTHENTICATED, another user's is
 * PERMISSION_DENIED. Without an authenticator (a server with no keys: development, unit tests)
 * and for services acting on their own, nothing is checked here.
 */
export function requireCallUser(identity: CallIdentity | undefined, userId: string): void {
  if (!identity?.actsForUser) return;
  if (!identity.user) {
    throw new ShopError('SHOP_UNAUTHENTICATED', `The user's token must come with the call (${USER_TOKEN_METADATA})`);
  }
  if (identity.user.id !== userId) {
    throw new ShopError('SHOP_FORBIDDEN', 'The user token is not the token of the user the call is for');
  }
}

/** The headers that forward a user's token: `userTokenMetadata(request.headers.authorization)`. */
export function userTokenMetadata(authorization: string): Record<string, string> {
  const token = authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : authorization;
  return { [USER_TOKEN_METADATA]: token };
}
