// The relay-mode switch: how a service's outbox relay finds the rows to publish — `poll` (the
// table, woken by NOTIFY; the default) or `wal` (the write-ahead log, through a replication
// slot; ADR 0035). Process-wide like the publish switch, so `PUT /admin/outbox/relay` reaches
// the relay the service started.
import { z } from 'zod';
import { ShopError } from './errors';

export type RelayMode = 'poll' | 'wal';
export const RELAY_MODES = ['poll', 'wal'] as const satisfies readonly RelayMode[];

/** Where the relay is (`GET /admin/outbox/relay`). */
export const relayStatusSchema = z.object({
  mode: z.enum(RELAY_MODES),
  /** The WAL relay's replication stream is open. */
  tailing: z.boolean(),
  /** The relay's replication slot as pg_replication_slots shows it; null when there is none (poll mode). */
  slot: z
    .object({
      name: z.string(),
      active: z.boolean(),
      confirmedFlushLsn: z.string().nullable(),
      currentLsn: z.string(),
      /** WAL bytes the server keeps for the slot. */
      retainedBytes: z.number(),
    })
    .nullable(),
});
export type RelayStatus = z.infer<typeof relayStatusSchema>;

/** What the switch drives: the service's OutboxRelay. */
interface SwitchableRelay {
  readonly mode: RelayMode;
  setMode(mode: RelayMode): Promise<RelayMode>;
  status(): Promise<RelayStatus>;
}

export class RelaySwitch {
  private relay: SwitchableRelay | undefined;

  /** The attached relay's mode; `poll` when the process has no relay. */
  get mode(): RelayMode {
    return this.relay?.mode ?? 'poll';
  }

  /** Switches the attached relay (it drains, creates or drops the slot as needed). */
  async set(mode: RelayMode): Promise<RelayMode> {
    if (!this.relay) throw new ShopError('SHOP_CONFLICT', 'this process has no outbox relay to switch');
    return this.relay.setMode(mode);
  }

  /** The attached relay's status; 409 when the process has no relay. */
  async status(): Promise<RelayStatus> {
    if (!this.relay) throw new ShopError('SHOP_CONFLICT', 'this process has no outbox relay');
    return this.relay.status();
  }

  attach(relay: SwitchableRelay): void {
    this.relay = relay;
  }

  /** Nothing attached (tests). */
  reset(): void {
    this.relay = undefined;
  }
}

export const relaySwitch = new RelaySwitch();
