// The gateway's bulkheads (docs/patterns/bulkhead.md): the calls it has in flight are bounded —
// each waiting call holds a socket, memory and a user — and the bound is either split into
// one compartment per call path (on, the default) or one pool shared by every guarded call
// (off, the before of the before/after switch). With one pool, a slow read path fills it
// and checkouts queue behind the reads; with compartments, the reads fill their own and
// are refused at once (the composed answer marks the part degraded), checkouts never wait.
import { Bulkhead, getOrCreate, ShopError } from '@shoplab/chassis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BulkheadStatus, CallGuard, CallPath } from '../application/ports';

export interface CompartmentLimits {
  maxConcurrent: number;
  maxQueue: number;
}

export interface BulkheadSettings {
  enabled: boolean;
  limits: Record<CallPath, CompartmentLimits>;
}

export class CallBulkheads implements CallGuard {
  private enabledNow: boolean;
  private compartments!: Record<CallPath, Bulkhead>;
  /** Off: one pool as large as the compartments together, shared by every path. */
  private shared!: Bulkhead;
  private shapes!: Record<CallPath | 'shared', CompartmentLimits>;
  private readonly rejected: Counter<'path' | 'compartment'>;

  constructor(settings: BulkheadSettings, registry: Registry) {
    this.enabledNow = settings.enabled;
    this.resize(settings.limits);
    const registers = [registry];
    this.rejected = getOrCreate(
      registry,
      'shop_gateway_bulkhead_rejected_total',
      () =>
        new Counter({
          name: 'shop_gateway_bulkhead_rejected_total',
          help: 'Calls refused at once because their compartment (or, switched off, the shared pool) was full',
          labelNames: ['path', 'compartment'],
          registers,
        }),
    );
    const pools = () =>
      [
        ['reads', this.compartments.reads],
        ['checkout', this.compartments.checkout],
        ['shared', this.shared],
      ] as const;
    getOrCreate(
      registry,
      'shop_gateway_bulkhead_in_use',
      () =>
        new Gauge({
          name: 'shop_gateway_bulkhead_in_use',
          help: 'Calls running in each compartment (shared: the one pool used while bulkheads are off)',
          labelNames: ['compartment'],
          registers,
          collect() {
            for (const [name, b] of pools()) this.set({ compartment: name }, b.active);
          },
        }),
    );
    getOrCreate(
      registry,
      'shop_gateway_bulkhead_queued',
      () =>
        new Gauge({
          name: 'shop_gateway_bulkhead_queued',
          help: 'Calls waiting for a slot in each compartment',
          labelNames: ['compartment'],
          registers,
          collect() {
            for (const [name, b] of pools()) this.set({ compartment: name }, b.queued);
          },
        }),
    );
  }

  get enabled(): boolean {
    return this.enabledNow;
  }

  /** Switches between compartments and the shared pool; calls already admitted finish where they are. */
  setEnabled(enabled: boolean): BulkheadStatus {
    this.enabledNow = enabled;
    return this.status();
  }

  /**
   * New limits (an exercise makes the compartments small so a modest flood fills them): new
   * compartments and shared pool take the calls from now on; calls admitted before finish where
   * they are.
   */
  resize(limits: Record<CallPath, CompartmentLimits>): BulkheadStatus {
    const { reads, checkout } = limits;
    const shared = {
      maxConcurrent: reads.maxConcurrent + checkout.maxConcurrent,
      maxQueue: reads.maxQueue + checkout.maxQueue,
    };
    this.shapes = { reads, checkout, shared };
    this.compartments = {
      reads: new Bulkhead({ ...reads, name: 'the gateway’s read bulkhead' }),
      checkout: new Bulkhead({ ...checkout, name: 'the gateway’s checkout bulkhead' }),
    };
    this.shared = new Bulkhead({ ...shared, name: 'the gateway’s shared call pool' });
    return this.status();
  }

  status(): BulkheadStatus {
    const row = (name: CallPath | 'shared', b: Bulkhead) => ({
      name,
      ...this.shapes[name],
      active: b.active,
      queued: b.queued,
    });
    return {
      enabled: this.enabledNow,
      compartments: [
        row('reads', this.compartments.reads),
        row('checkout', this.compartments.checkout),
        row('shared', this.shared),
      ],
    };
  }

  /** Runs `fn` in the compartment of `path` (or the shared pool); a full one refuses with SHOP_BULKHEAD_FULL. */
  async run<T>(path: CallPath, fn: () => Promise<T>): Promise<T> {
    const compartment = this.enabledNow ? path : 'shared';
    const bulkhead = this.enabledNow ? this.compartments[path] : this.shared;
    let admitted = false;
    try {
      return await bulkhead.run(() => {
        admitted = true;
        return fn();
      });
    } catch (err) {
      // Refused by the bulkhead itself, not a SHOP_BULKHEAD_FULL the downstream answered with.
      if (!admitted && err instanceof ShopError && err.code === 'SHOP_BULKHEAD_FULL') {
        this.rejected.inc({ path, compartment });
        throw new ShopError('SHOP_BULKHEAD_FULL', err.message, {
          ...err.details,
          path,
          compartment,
          retryAfterSeconds: 1,
        });
      }
      throw err;
    }
  }
}
