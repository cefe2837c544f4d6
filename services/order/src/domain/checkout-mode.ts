// How an order is checked out (docs/patterns/choreography.md): the mode is chosen per checkout
// by the order service's switch (CHECKOUT_MODE, `PUT /v1/admin/checkout-mode`, like the
// before/after switches of ADR 13) and recorded on the order (`orders.checkout_mode`), so orders
// of every mode live side by side under the same audit. Plain TypeScript: no I/O.
import { ShopError } from '@shoplab/chassis/errors';

/**
 * - `orchestrated`: the checkout saga (docs/reference.md#saga) drives every step from order.
 * - `choreographed`: no one drives; the services react to each other's events.
 * - `two-phase`: one distributed transaction, order the coordinator.
 * The column's CHECK constraint (migration 20261206000000_checkout_mode) allows these three.
 */
export const CHECKOUT_MODES = ['orchestrated', 'choreographed', 'two-phase'] as const;
export type CheckoutMode = (typeof CHECKOUT_MODES)[number];

export const DEFAULT_CHECKOUT_MODE: CheckoutMode = 'orchestrated';

export function isCheckoutMode(value: unknown): value is CheckoutMode {
  return typeof value === 'string' && (CHECKOUT_MODES as readonly string[]).includes(value);
}

/**
 * The switch: which mode the next checkout gets. It accepts only the modes this process can run
 * to the end (`available`): a mode that is named but not wired is refused with 409, so no order
 * is ever recorded in a mode nothing drives. A restart returns it to the configured default.
 */
export class CheckoutModeSwitch {
  private current: CheckoutMode;
  private readonly available: ReadonlySet<CheckoutMode>;

  constructor(initial: CheckoutMode, available: readonly CheckoutMode[]) {
    this.available = new Set(available);
    if (!this.available.has(initial)) {
      throw new Error(`CHECKOUT_MODE ${initial} is not available here (available: ${[...available].join(', ')})`);
    }
    this.current = initial;
  }

  get mode(): CheckoutMode {
    return this.current;
  }

  get modes(): CheckoutMode[] {
    return CHECKOUT_MODES.filter((mode) => this.available.has(mode));
  }

  set(mode: CheckoutMode): CheckoutMode {
    if (!this.available.has(mode)) {
      throw new ShopError(
        'SHOP_CONFLICT',
        `Checkout mode ${mode} is not available in this order service (available: ${this.modes.join(', ')})`,
      );
    }
    this.current = mode;
    return mode;
  }
}
