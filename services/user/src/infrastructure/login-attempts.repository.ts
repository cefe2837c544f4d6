import type { LoginAttemptStore } from '../application/ports';
import {
  type AttemptDecision,
  assessAttempt,
  counterDuringAttempt,
  type LoginThrottleSettings,
} from '../domain/login-throttle';
import type { PrismaClient } from '../generated/prisma/client';

/** Expired counters deleted per attempt at most. */
const CLEANUP_BATCH = 100;

/**
 * The `login_attempts` counters: one row per (email, client address) with recent failures (known
 * email or not). Each attempt also deletes up to CLEANUP_BATCH counters whose window has passed,
 * so the table holds only what still counts.
 */
export class PrismaLoginAttemptStore implements LoginAttemptStore {
  constructor(private readonly prisma: PrismaClient) {}

  begin(email: string, address: string, now: Date, settings: LoginThrottleSettings): Promise<AttemptDecision> {
    return this.prisma.$transaction(async (tx) => {
      const expired = new Date(now.getTime() - settings.windowMs);
      await tx.$executeRaw`DELETE FROM login_attempts WHERE ctid IN (
        SELECT ctid FROM login_attempts WHERE last_failure_at < ${expired} LIMIT ${CLEANUP_BATCH}
        FOR UPDATE SKIP LOCKED)`;
      // Create the row if needed, then lock it: parallel attempts for one email queue here for
      // a moment (no waiting happens inside), so each sees the count the previous one left.
      await tx.$executeRaw`INSERT INTO login_attempts (email, client_address, failures) VALUES (${email}, ${address}, 0)
        ON CONFLICT (email, client_address) DO NOTHING`;
      const [row] = await tx.$queryRaw<{ failures: number; last_failure_at: Date | null }[]>`
        SELECT failures, last_failure_at FROM login_attempts
        WHERE email = ${email} AND client_address = ${address} FOR UPDATE`;
      const decision = assessAttempt(
        { failures: row?.failures ?? 0, lastFailureAt: row?.last_failure_at ?? null },
        now,
        settings,
      );
      const next = counterDuringAttempt(decision, now);
      if (next) {
        await tx.loginAttempt.update({
          where: { email_clientAddress: { email, clientAddress: address } },
          data: { failures: next.failures, lastFailureAt: next.lastFailureAt },
        });
      }
      return decision;
    });
  }

  async succeeded(email: string, address: string): Promise<void> {
    await this.prisma.loginAttempt.deleteMany({ where: { email, clientAddress: address } });
  }
}
