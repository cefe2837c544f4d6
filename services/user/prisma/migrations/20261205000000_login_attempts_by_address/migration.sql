-- The login throttle counts failures per (email, client address), so guesses from one address
-- cannot lock the email's owner out everywhere. last_failure_at is indexed for the clean-up of
-- counters whose window has passed.
ALTER TABLE "login_attempts" ADD COLUMN "client_address" TEXT NOT NULL DEFAULT '';
ALTER TABLE "login_attempts" DROP CONSTRAINT "login_attempts_pkey";
ALTER TABLE "login_attempts" ADD CONSTRAINT "login_attempts_pkey" PRIMARY KEY ("email", "client_address");
CREATE INDEX "login_attempts_last_failure_at_idx" ON "login_attempts" ("last_failure_at");
