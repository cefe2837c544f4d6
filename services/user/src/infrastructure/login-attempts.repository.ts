import type { LoginAttemptStore } from '../application/ports';
import {
  type AttemptDecision,
  assessAttempt,
  counterDuringAttempt,
  type LoginThrottleSettings,
} from '../domain/login-throttle';
import type { PrismaClient } from '../generated/prisma/client';

/** The `login_attempts` counters: one row per email with recent failures (known email or not). */
export class PrismaLoginAttemptStore implements LoginAttemptStore {
  constructor(private readonly prisma: PrismaClient) {}

  begin(email: string, now: Date, settings: LoginThrottleSettings): Promise<AttemptDecision> {
    return this.prisma.$transaction(async (tx) => {
      // Create the row if needed, then lock it: parallel attempts for one email queue here for
      // a moment (no waiting happens inside), so each sees the count the previous one left.
      await tx.$executeRaw`INSERT INTO login_attempts (email, failures) VALUES (${email}, 0) ON CONFLICT (email) DO NOTHING`;
      const [row] = await tx.$queryRaw<{ failures: number; last_failure_at: Date | null }[]>`
        SELECT failures, last_failure_at FROM login_attempts WHERE email = ${email} FOR UPDATE`;
      const decision = assessAttempt(
        { failures: row?.failures ?? 0, lastFailureAt: row?.last_failure_at ?? null },
        now,
        settings,
      );
      const next = counterDuringAttempt(decision, now);
      if (next) {
        await tx.loginAttempt.update({
          where: { email },
          data: { failures: next.failures, lastFailureAt: next.lastFailureAt },
        });
      }
      return decision;
    });
  }

  async succeeded(email: string): Promise<void> {
    await this.prisma.loginAttempt.deleteMany({ where: { email } });
  }
}
