// Admission control of checkout (docs/adr/0016-checkout-load-shedding.md): at most
// `maxConcurrent` checkouts run at once, the next ones wait in line, and a checkout that could
// not start while its caller still has time to get the answer is refused at once with 503
// SHOP_BULKHEAD_FULL and a Retry-After, instead of running late and being cut off by the
// caller's deadline (a 504 that leaves the client unsure whether an order exists).
//
// The caller's remaining time comes with the request (`x-request-timeout-ms`, sent by the
// gateway); the wait in line is bounded by it less what a checkout needs once it runs: the
// recent duration plus four times its recent deviation (the retransmission-timeout estimate of
// RFC 6298, which covers the slow ones), and at least `reserveMs`. A request whose expected wait
// (the lines ahead of it over the slots, times the recent duration) is already longer is refused
// when it arrives; one that waits longer than expected is refused when its budget runs out.
// Retry-After spreads the refused ones between one and two times the time the line needs to
// drain, so they do not all come back at once. The semaphore and its timed acquire are
// async-mutex's.
import { ShopError } from '@shoplab/chassis';
import { Semaphore, type SemaphoreInterface, withTimeout } from 'async-mutex';

export interface AdmissionSettings {
  /** Checkouts running at once. */
  maxConcurrent: number;
  /** Checkouts waiting for a slot at most; one more is refused at once. */
  maxQueue: number;
  /** The longest wait in line, also when the caller sends no deadline. */
  maxWaitMs: number;
  /** What a checkout needs once it runs: the wait leaves this much of the caller's time. */
  reserveMs: number;
  /**
   * The first guess of a checkout's duration, before any has run (then a moving average);
   * 500 ms by default: the first checkouts of a process open its database connections.
   */
  initialServiceMs?: number;
}

export interface AdmissionOptions {
  observer?: AdmissionObserver;
  /** Monotonic ms (tests pass their own). */
  now?: () => number;
  /** In [0, 1): spreads Retry-After (tests pass a fixed one). */
  random?: () => number;
}

/**
 * Why a checkout was refused: the line was full; it could not be done within the caller's
 * deadline by the estimate (the time left, less the expected wait, is shorter than a checkout
 * takes); or it waited in line as long as it could.
 */
export type ShedReason = 'queue_full' | 'deadline' | 'wait_timeout';

export interface AdmissionObserver {
  shed(reason: ShedReason): void;
  /** Checkouts running and waiting now. */
  depth(running: number, waiting: number): void;
}

const WAIT_TIMED_OUT = new Error('checkout admission: waited too long');

export class CheckoutAdmission {
  private readonly semaphore: SemaphoreInterface;
  private running = 0;
  private waiting = 0;
  /** Smoothed duration of a checkout and its mean deviation, in ms (RFC 6298's SRTT and RTTVAR). */
  private serviceMs: number;
  private deviationMs: number;
  private readonly observer: AdmissionObserver | undefined;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly settings: AdmissionSettings,
    options: AdmissionOptions = {},
  ) {
    this.observer = options.observer;
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    if (!Number.isInteger(settings.maxConcurrent) || settings.maxConcurrent < 1) {
      throw new RangeError('maxConcurrent must be a whole number ≥ 1');
    }
    if (!Number.isInteger(settings.maxQueue) || settings.maxQueue < 0) {
      throw new RangeError('maxQueue must be a whole number ≥ 0');
    }
    this.semaphore = new Semaphore(settings.maxConcurrent);
    this.serviceMs = settings.initialServiceMs ?? 500;
    this.deviationMs = this.serviceMs / 2;
  }

  /** What a checkout needs once it runs, kept out of the caller's time for waiting. */
  get reserveMs(): number {
    return Math.max(this.settings.reserveMs, this.serviceMs + 4 * this.deviationMs);
  }

  /** Checkouts running now. */
  get active(): number {
    return this.running;
  }

  /** Checkouts waiting for a slot now. */
  get queued(): number {
    return this.waiting;
  }

  /**
   * Runs `work` once a slot is free, or refuses with SHOP_BULKHEAD_FULL (retryAfterSeconds in
   * its details). `callerBudgetMs` is the time the caller has left for the whole answer
   * (undefined: it did not say). `stillWanted` is asked when the slot is granted: false (the
   * caller hung up while waiting) gives the slot back without running `work`.
   */
  async run<T>(
    callerBudgetMs: number | undefined,
    work: () => Promise<T>,
    stillWanted: () => boolean = () => true,
  ): Promise<T> {
    const budget = Math.min(this.settings.maxWaitMs, (callerBudgetMs ?? Number.POSITIVE_INFINITY) - this.reserveMs);
    let release: SemaphoreInterface.Releaser;
    // The semaphore's count is the state to decide on: acquire() takes a free slot at once, so
    // requests arriving together each see the slots the ones before them took.
    if (this.semaphore.getValue() === this.settings.maxConcurrent && this.waiting === 0) {
      // Idle: run it whatever the estimate says. It measures the checkout afresh, so an estimate
      // that grew during a slow spell cannot shut the door for good.
      [, release] = await this.semaphore.acquire();
    } else if (this.waiting === 0 && !this.semaphore.isLocked()) {
      // A free slot and nobody ahead; but a request that arrives with less time left than a
      // checkout takes (it waited to be read while this process was busy) would be answered
      // after its caller gave up: refuse it now.
      if (budget < 0) throw this.refuse('deadline');
      [, release] = await this.semaphore.acquire();
    } else {
      if (this.waiting >= this.settings.maxQueue) throw this.refuse('queue_full');
      if (this.expectedWaitMs(this.waiting + 1) > budget) throw this.refuse('deadline');
      this.waiting++;
      this.report();
      try {
        [, release] = await withTimeout(this.semaphore, Math.ceil(budget), WAIT_TIMED_OUT).acquire();
      } catch (err) {
        if (err === WAIT_TIMED_OUT) throw this.refuse('wait_timeout');
        throw err;
      } finally {
        this.waiting--;
      }
    }
    if (!stillWanted()) {
      release();
      throw new ShopError('SHOP_TIMEOUT', 'The caller stopped waiting before the checkout started');
    }
    this.running++;
    this.report();
    const started = this.now();
    try {
      return await work();
    } finally {
      // Failed checkouts count too: they held the slot as long.
      this.learn(this.now() - started);
      this.running--;
      release();
      this.report();
    }
  }

  /** How long the `position`-th in line waits: the lines ahead of it over the slots, each a checkout long. */
  private expectedWaitMs(position: number): number {
    return Math.ceil(position / this.settings.maxConcurrent) * this.serviceMs;
  }

  private learn(ms: number): void {
    this.deviationMs = 0.75 * this.deviationMs + 0.25 * Math.abs(this.serviceMs - ms);
    this.serviceMs = 0.875 * this.serviceMs + 0.125 * ms;
  }

  private refuse(reason: ShedReason): ShopError {
    this.observer?.shed(reason);
    // Once everyone now running or waiting is through, spread over as long again (whole seconds, at least one).
    const drainMs = this.expectedWaitMs(this.running + this.waiting);
    const retryAfterSeconds = Math.max(1, Math.ceil((drainMs * (1 + this.random())) / 1000));
    const why =
      reason === 'queue_full'
        ? `${this.waiting} checkouts are already waiting`
        : `a checkout could not start within the caller's deadline (${this.running} running, ${this.waiting} waiting)`;
    return new ShopError(
      'SHOP_BULKHEAD_FULL',
      `Checkout is busy: ${why}; retry in ${retryAfterSeconds} s with the same Idempotency-Key`,
      {
        retryAfterSeconds,
        reason,
      },
    );
  }

  private report(): void {
    this.observer?.depth(this.running, this.waiting);
  }
}
