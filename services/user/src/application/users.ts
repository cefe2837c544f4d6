// The user service's use cases: register, log in (with the slowdown), profile and addresses,
// and the questions other services ask over gRPC.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuthenticatedUser } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import { type Address, type AddressInput, validAddress } from '../domain/address';
import type { LoginThrottleSettings } from '../domain/login-throttle';
import { type Notification, welcomeNotification } from '../domain/notification';
import { normalizeEmail, type Registration, type UserProfile, validRegistration } from '../domain/user';
import { isUuid, requireUuid, validationError } from '../domain/validation';
import { addressAdded, userRegistered } from './events';
import type { LoginAttemptStore, NotificationReader, PasswordHasher, UserRepository, UserWithAddresses } from './ports';

/** The part of a caller's time budget a slowed-down login keeps for looking up and checking the password. */
export const LOGIN_CHECK_RESERVE_MS = 750;
/** The least a slowed-down login waits, whatever budget its caller names (the lockout after `blockAfter` failures stays). */
export const LOGIN_MIN_WAIT_MS = 250;

export interface UsersDeps {
  users: UserRepository;
  attempts: LoginAttemptStore;
  notifications: NotificationReader;
  hasher: PasswordHasher;
  signToken: (user: AuthenticatedUser) => string;
  throttle: LoginThrottleSettings;
  /**
   * A hash of a random password, verified when the email is unknown so that an unknown email
   * takes as long as a wrong password (see `createDummyHash`).
   */
  dummyHash: string;
  now?: () => Date;
  /** The slowdown's wait; tests record it instead of waiting. */
  wait?: (ms: number) => Promise<unknown>;
}

export interface NewAddress extends AddressInput {
  isDefault?: boolean | undefined;
}

/** Wrong email and wrong password are one answer, so the API does not tell which emails exist. */
export function invalidCredentials(): ShopError {
  return new ShopError('SHOP_INVALID_CREDENTIALS', 'The email or the password is wrong');
}

/** A hash to verify against when there is no user: same algorithm and cost as a real one. */
export function createDummyHash(hasher: PasswordHasher): Promise<string> {
  return hasher.hash(randomUUID());
}

export class Users {
  private readonly now: () => Date;
  private readonly wait: (ms: number) => Promise<unknown>;

  constructor(private readonly deps: UsersDeps) {
    this.now = deps.now ?? (() => new Date());
    this.wait = deps.wait ?? ((ms) => sleep(ms));
  }

  async register(input: Registration): Promise<{ user: UserProfile; token: string }> {
    const { email, password, name } = validRegistration(input);
    // Hash before the transaction: scrypt takes tens of milliseconds and must not hold a connection.
    const passwordHash = await this.deps.hasher.hash(password);
    const id = randomUUID();
    const user = await this.deps.users.create(
      { id, email, name, passwordHash },
      userRegistered({ id, email, name }),
      welcomeNotification({ id, email, name }),
    );
    return { user, token: this.deps.signToken(user) };
  }

  /**
   * Checks the credentials. Every attempt of an email counts; after `slowdownAfter` consecutive
   * failures the answer waits (doubling up to `maxDelayMs`), from `blockAfter` on it is 429
   * until the window has passed since the last failure. A success forgets the failures.
   * `budgetMs` is the time the caller will wait for the answer (the gateway says so with each
   * request): the wait leaves LOGIN_CHECK_RESERVE_MS of it for the password check, so a slowed
   * down attempt is a late answer, never the caller's timeout (which its circuit breaker would
   * count against this service).
   */
  async login(
    input: { email: string; password: string },
    options: { budgetMs?: number; clientAddress?: string } = {},
  ): Promise<{ token: string }> {
    const email = normalizeEmail(input.email);
    const address = options.clientAddress ?? '';
    const decision = await this.deps.attempts.begin(email, address, this.now(), this.deps.throttle);
    if (decision.kind === 'blocked') {
      throw new ShopError(
        'SHOP_RATE_LIMITED',
        'Too many failed logins for this email from this address; try again later',
        {
          retryAfterSeconds: decision.retryAfterSeconds,
        },
      );
    }
    // A caller cannot talk its way out of the slowdown: whatever budget it names, the wait is at least LOGIN_MIN_WAIT_MS.
    const budgetWaitMs = (options.budgetMs ?? Number.POSITIVE_INFINITY) - LOGIN_CHECK_RESERVE_MS;
    const waitMs = Math.min(decision.delayMs, Math.max(budgetWaitMs, LOGIN_MIN_WAIT_MS));
    if (waitMs > 0) await this.wait(waitMs);
    const stored = await this.deps.users.findCredentials(email);
    const matches = await this.deps.hasher.verify(input.password, stored?.passwordHash ?? this.deps.dummyHash);
    if (!stored || !matches) throw invalidCredentials();
    await this.deps.attempts.succeeded(email, address);
    // A hash of an older cost is replaced now that the password is at hand (only now is it).
    if (this.deps.hasher.needsRehash(stored.passwordHash)) {
      const rehashed = await this.deps.hasher.hash(input.password);
      await this.deps.users.replacePasswordHash(stored.id, stored.passwordHash, rehashed);
    }
    return { token: this.deps.signToken({ id: stored.id, email: stored.email, name: stored.name }) };
  }

  /** The caller's profile; a token naming a user that no longer exists is not a valid sign-in. */
  async me(userId: string): Promise<UserWithAddresses> {
    const user = await this.deps.users.find(callerId(userId));
    if (!user) throw unknownCaller();
    return user;
  }

  async listAddresses(userId: string): Promise<Address[]> {
    await this.me(userId);
    return this.deps.users.listAddresses(userId);
  }

  async addAddress(userId: string, input: NewAddress): Promise<Address> {
    const address = validAddress(input);
    const stored = await this.deps.users.addAddress(
      callerId(userId),
      { id: randomUUID(), ...address },
      input.isDefault,
      (a) => addressAdded(userId, a),
    );
    if (!stored) throw unknownCaller();
    return stored;
  }

  /** Deletes one of the caller's addresses; someone else's address is as unknown as a missing one. */
  async deleteAddress(userId: string, addressId: string): Promise<void> {
    if (!(await this.deps.users.deleteAddress(callerId(userId), addressId))) {
      throw new ShopError('SHOP_NOT_FOUND', `You have no address ${addressId}`, { addressId });
    }
  }

  /** The caller's notification log, newest first. */
  async notifications(userId: string, limit: number): Promise<Notification[]> {
    await this.me(userId);
    return this.deps.notifications.forUser(userId, limit);
  }

  /** Everyone's notification log, newest first (admin). */
  allNotifications(limit: number): Promise<Notification[]> {
    return this.deps.notifications.all(limit);
  }

  /** gRPC GetUser. */
  async getUser(rawId: string): Promise<UserWithAddresses> {
    const id = requireUuid('id', rawId);
    const user = await this.deps.users.find(id);
    if (!user) throw new ShopError('SHOP_NOT_FOUND', `No user ${id}`, { userId: id });
    return user;
  }

  /**
   * gRPC ValidateAddress: exactly one of `addressId` (one of the user's addresses) or `address`
   * (a full address, checked and normalized; it gets no id). The user must exist either way.
   */
  async validateAddress(request: {
    userId: string;
    addressId: string;
    address: NewAddress | undefined;
  }): Promise<Address> {
    const userId = requireUuid('user_id', request.userId);
    const hasId = request.addressId !== '';
    if (hasId === (request.address !== undefined)) {
      throw validationError([{ field: 'address_id', message: 'give exactly one of address_id or address' }]);
    }
    const addressId = hasId ? requireUuid('address_id', request.addressId) : undefined;
    const candidate = request.address ? validAddress(request.address, 'address.') : undefined;
    if (!(await this.deps.users.exists(userId))) {
      throw new ShopError('SHOP_NOT_FOUND', `No user ${userId}`, { userId });
    }
    if (candidate) return { id: '', isDefault: false, ...candidate };
    const found = await this.deps.users.findAddress(userId, addressId as string);
    if (!found) {
      throw new ShopError('SHOP_NOT_FOUND', `User ${userId} has no address ${addressId}`, { userId, addressId });
    }
    return found;
  }
}

function unknownCaller(): ShopError {
  return new ShopError('SHOP_UNAUTHENTICATED', 'The token names a user that does not exist');
}

/** The user id of a verified token; anything but a uuid cannot be one of ours. */
function callerId(userId: string): string {
  if (!isUuid(userId)) throw unknownCaller();
  return userId;
}
