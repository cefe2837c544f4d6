// What the use cases need from the outside world; src/infrastructure implements it.
import type { DomainEvent } from '@shoplab/chassis';
import type { Address, NormalizedAddress } from '../domain/address';
import type { AttemptDecision, LoginThrottleSettings } from '../domain/login-throttle';
import type { Notification, NotificationDraft, Recipient } from '../domain/notification';
import type { UserProfile } from '../domain/user';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password or a malformed stored hash; never throws for those. */
  verify(password: string, stored: string): Promise<boolean>;
  /** True when a verified password's `stored` hash should be replaced (its cost is not today's). */
  needsRehash(stored: string): boolean;
}

export interface NewUser {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
}

export interface StoredCredentials {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
}

export interface UserWithAddresses extends UserProfile {
  addresses: Address[];
}

export interface UserRepository {
  /**
   * Inserts the user, writes `event` to the outbox and logs the `welcome` notification in one
   * transaction; SHOP_ALREADY_EXISTS if the email is taken.
   */
  create(user: NewUser, event: DomainEvent, welcome: NotificationDraft): Promise<UserProfile>;
  findCredentials(email: string): Promise<StoredCredentials | undefined>;
  /** Replaces the user's password hash if it is still `previous` (a password changed meanwhile wins). */
  replacePasswordHash(id: string, previous: string, next: string): Promise<void>;
  find(id: string): Promise<UserWithAddresses | undefined>;
  exists(id: string): Promise<boolean>;
  listAddresses(userId: string): Promise<Address[]>;
  findAddress(userId: string, addressId: string): Promise<Address | undefined>;
  /**
   * Adds an address under a lock on the user (so "at most one default" holds under concurrency),
   * clearing the other default when this one is the default, and writes the event built from the
   * stored address in the same transaction. Undefined when the user does not exist.
   */
  addAddress(
    userId: string,
    address: NormalizedAddress & { id: string },
    requestedDefault: boolean | undefined,
    event: (stored: Address) => DomainEvent,
  ): Promise<Address | undefined>;
  /** True when the user's address was deleted; false when the user has no such address. */
  deleteAddress(userId: string, addressId: string): Promise<boolean>;
}

/**
 * The login counters, one per (email, client address): guesses from one address slow down and
 * lock out that address for the email, never the email's owner signing in from elsewhere.
 */
export interface LoginAttemptStore {
  /**
   * Assesses an attempt for `email` from `address` under a row lock and, unless it is refused,
   * counts it as a failure until `succeeded` says otherwise.
   */
  begin(email: string, address: string, now: Date, settings: LoginThrottleSettings): Promise<AttemptDecision>;
  /** Forgets the failures of the email from that address. */
  succeeded(email: string, address: string): Promise<void>;
}

/** Reads of the notification log, newest first. */
export interface NotificationReader {
  forUser(userId: string, limit: number): Promise<Notification[]>;
  all(limit: number): Promise<Notification[]>;
}

/** The notification log inside the order-events consumer's transaction. */
export interface NotificationWriter {
  /** The user to notify, or undefined when there is no such user. */
  recipient(userId: string): Promise<Recipient | undefined>;
  /** Logs it; false when the order already has a notification of this kind (any event id). */
  add(notification: NotificationDraft): Promise<boolean>;
}
