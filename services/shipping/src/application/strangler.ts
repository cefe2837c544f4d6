// The strangler fig's facade state: which share of each routed operation goes to the native
// implementation (the rest to the legacy system through the adapter), whether quotes are
// shadowed (both called, answers compared), and the chaos seed that makes the native answer
// differ. Process-wide and not persisted (like the shop's other switches, ADR 13): a restart
// returns to the configuration.

export const ROUTED_OPERATIONS = ['quote', 'create'] as const;
export type RoutedOperation = (typeof ROUTED_OPERATIONS)[number];

export interface StranglerState {
  /** Percent (0–100) of each operation's calls the native implementation answers. */
  nativeShare: Record<RoutedOperation, number>;
  /** Quotes: the other implementation is called too and its answer compared (never returned). */
  shadow: boolean;
  /** Added to every native quote: a seeded difference for shadow mode to catch (0: none). */
  nativeQuoteSkewCents: number;
}

export class Strangler {
  private state: StranglerState;

  constructor(
    initial: StranglerState,
    private readonly random: () => number = Math.random,
  ) {
    this.state = structuredClone(initial);
  }

  status(): StranglerState {
    return structuredClone(this.state);
  }

  /** Which implementation answers this call: native with the operation's share, else legacy. */
  route(operation: RoutedOperation): 'legacy' | 'native' {
    const share = this.state.nativeShare[operation];
    if (share <= 0) return 'legacy';
    if (share >= 100) return 'native';
    return this.random() * 100 < share ? 'native' : 'legacy';
  }

  update(change: {
    nativeShare?: Partial<Record<RoutedOperation, number>>;
    shadow?: boolean;
    nativeQuoteSkewCents?: number;
  }): StranglerState {
    for (const op of ROUTED_OPERATIONS) {
      const share = change.nativeShare?.[op];
      if (share !== undefined) this.state.nativeShare[op] = Math.min(100, Math.max(0, Math.round(share)));
    }
    if (change.shadow !== undefined) this.state.shadow = change.shadow;
    if (change.nativeQuoteSkewCents !== undefined) this.state.nativeQuoteSkewCents = change.nativeQuoteSkewCents;
    return this.status();
  }

  /** The instant rollback: every call to the legacy system again, no shadowing (the seed stays as set). */
  rollback(): StranglerState {
    for (const op of ROUTED_OPERATIONS) this.state.nativeShare[op] = 0;
    this.state.shadow = false;
    return this.status();
  }
}
