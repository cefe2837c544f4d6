// What an event contract is: the event's type (`shop.<aggregate>.<event>.v<major>`) and the zod
// schema of its data. Producers build the data through the schema (the chassis' createEvent with
// a contract); consumers parse it through the same schema (the chassis' parseEventData), so the
// two sides cannot drift apart. Schemas are zod's default objects: a field a consumer does not
// know is stripped, never refused, so a producer may add optional fields within a version
// (docs/adr/0021-event-schemas-in-contracts.md).
import { z } from 'zod';

export interface EventContract<S extends z.ZodType = z.ZodType> {
  /** The CloudEvents `type`, e.g. `shop.order.confirmed.v1`. */
  readonly type: string;
  /** The schema of the event's `data`. */
  readonly schema: S;
  /**
   * The fields of `data` that are personal data (a person's identifier, contact, address, card
   * fragment): empty when the event carries none. Whoever stores, copies or logs the event —
   * a read store, a dead-letter topic, a support tool — knows from here what it holds about a
   * person and so what an erasure or a retention rule must reach.
   */
  readonly personalData: readonly string[];
}

/** What a contract may say besides its type and schema. */
export interface EventContractOptions<S extends z.ZodType> {
  /** The top-level fields of the data that are personal data (EventContract.personalData). */
  personalData?: readonly (keyof z.output<S> & string)[];
}

/** The data a producer gives (before defaults). */
export type EventInput<C extends EventContract> = z.input<C['schema']>;
/** The data a consumer gets after parsing. */
export type EventData<C extends EventContract> = z.output<C['schema']>;

export function defineEvent<S extends z.ZodType>(
  type: string,
  schema: S,
  options: EventContractOptions<S> = {},
): EventContract<S> {
  return Object.freeze({ type, schema, personalData: Object.freeze([...(options.personalData ?? [])]) });
}

/** Money in integer minor units with an ISO 4217 code (proto/common/v1/money.proto). */
export const moneySchema = z.object({
  amount: z.number().int(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code, e.g. USD'),
});

/** Identifiers carried in events: non-empty, at most 200 characters. */
export const idSchema = z.string().min(1).max(200);

/** A product and a positive whole number of its units. */
export const quantityLineSchema = z.object({
  productId: idSchema,
  quantity: z.number().int().positive(),
});
