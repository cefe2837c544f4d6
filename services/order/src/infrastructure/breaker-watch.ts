// The saga runner's view of its own circuit breakers to the participants (ports.ts BreakerWatch):
// when a breaker opened (its `open` events), and so when it lets a trial call through — the
// moment a step its breaker refused is worth trying again (ADR 14).
import type { BreakerStateName } from '@shoplab/chassis';
import type { BreakerWatch } from '../application/ports';
import type { BreakerView } from '../domain/saga';

/** What is watched of a chassis Breaker (a GrpcClient's `breaker`). */
export interface WatchedBreaker {
  readonly state: BreakerStateName;
  readonly circuit: { on(event: 'open', listener: () => void): unknown };
}

export class CircuitBreakerWatch implements BreakerWatch {
  private readonly openedAt = new Map<string, number>();

  /**
   * @param breakers the breakers by participant (`catalog: catalogClient.breaker`, …); watched from now on
   * @param resetMs how long they stay open before their trial call (their `resetTimeoutMs`)
   */
  constructor(
    private readonly breakers: Readonly<Record<string, WatchedBreaker>>,
    private readonly resetMs: number,
    private readonly clock: () => Date = () => new Date(),
  ) {
    for (const [target, breaker] of Object.entries(breakers)) {
      // A trial call that fails opens it again: the event comes each time.
      breaker.circuit.on('open', () => this.openedAt.set(target, this.clock().getTime()));
    }
  }

  view(target: string): BreakerView {
    const breaker = this.breakers[target];
    if (!breaker) return { state: 'unknown' };
    switch (breaker.state) {
      case 'open': {
        const opened = this.openedAt.get(target);
        // Opened before we watched: it half-opens within one reset from now at the latest.
        if (opened === undefined)
          return { state: 'open', halfOpensAt: new Date(this.clock().getTime() + this.resetMs) };
        return { state: 'open', openedAt: new Date(opened), halfOpensAt: new Date(opened + this.resetMs) };
      }
      case 'half-open':
        return { state: 'half-open' };
      case 'closed':
        return { state: 'closed' };
    }
  }
}
