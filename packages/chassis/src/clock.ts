// The process's clocks (docs/patterns/logical-clocks.md, ADR 0025): one wall clock every event
// time and timeline entry is read from (`now()`, which a chaos `clock skew` rule offsets), and
// two logical clocks stamped on every event the service produces and merged from every event
// (and gRPC call) it receives:
//  - a Lamport clock: an integer, +1 on every local or send event, max(local, received) + 1 on
//    every receive. If a caused b, lamport(a) < lamport(b); the converse does not hold.
//  - a hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014): the largest
//    physical time seen anywhere in the causal past (ms) plus a logical counter for events in
//    the same millisecond. It keeps the Lamport guarantee and stays close to the wall clock, so
//    it can be read as a time; a node whose clock is behind still stamps its events after their
//    causes. Encoded fixed-width and zero-padded so that string order is (physical, counter) order.

/** `<physical ms, 15 digits>-<counter, 6 digits>`, e.g. `001764950400000-000003`. */
export const HLC_PATTERN = /^[0-9]{15}-[0-9]{6}$/;
const MAX_COUNTER = 999_999;

/** gRPC metadata carrying the caller's clocks on every call (a send; the server merges it). */
export const LAMPORT_METADATA = 'shop-lamport';
export const HLC_METADATA = 'shop-hlc';

/** A hybrid logical clock reading. */
export interface Hlc {
  /** Milliseconds since the epoch: the largest physical time in the causal past. */
  physical: number;
  /** Orders events sharing `physical`. */
  counter: number;
}

/** The stamps of one event: both logical clocks and the (possibly skewed) wall time it happened at. */
export interface ClockStamp {
  lamport: number;
  /** The encoded HLC (formatHlc). */
  hlc: string;
  /** The wall clock when it was stamped (ms since the epoch), through `now()`. */
  wall: number;
}

/** The stamps a message carries: either may be missing (older producers did not stamp). */
export interface ReceivedStamp {
  lamport?: number | undefined;
  hlc?: string | undefined;
}

export function formatHlc(hlc: Hlc): string {
  return `${String(hlc.physical).padStart(15, '0')}-${String(hlc.counter).padStart(6, '0')}`;
}

/** Parses an encoded HLC; undefined when it is not one. */
export function parseHlc(text: string): Hlc | undefined {
  if (!HLC_PATTERN.test(text)) return undefined;
  const [physical, counter] = text.split('-') as [string, string];
  return { physical: Number(physical), counter: Number(counter) };
}

/** Orders two encoded HLCs (a missing one first): the causal order of their events, where there is one. */
export function compareHlc(a: string | null | undefined, b: string | null | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Entries in HLC order; the sort is stable, so entries without an HLC come first in their given order. */
export function sortByHlc<T extends { hlc?: string | null | undefined }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => compareHlc(a.hlc, b.hlc));
}

/**
 * One process's wall clock and logical clocks. `physicalNow` is the machine's clock (Date.now by
 * default, injectable for tests); `offsetMs` the skew added to it (the chaos `clock` rules).
 */
export class ProcessClock {
  private lamport = 0;
  private hlc: Hlc = { physical: 0, counter: 0 };
  private offset: () => number = () => 0;

  constructor(private readonly physicalNow: () => number = Date.now) {}

  /** Where the skew comes from (the service's fault injector); replaces the previous source. */
  useOffset(offsetMs: () => number): void {
    this.offset = offsetMs;
  }

  /** The wall clock this process believes (ms since the epoch): the machine's plus any skew. */
  now(): number {
    return this.physicalNow() + this.offset();
  }

  /** The current readings without advancing them. */
  peek(): { lamport: number; hlc: string } {
    return { lamport: this.lamport, hlc: formatHlc(this.hlc) };
  }

  /** A local or send event: advances both clocks and returns its stamps. */
  tick(): ClockStamp {
    const wall = this.now();
    this.lamport += 1;
    const physical = Math.max(this.hlc.physical, wall);
    this.hlc = bounded(physical, physical === this.hlc.physical ? this.hlc.counter + 1 : 0);
    return { lamport: this.lamport, hlc: formatHlc(this.hlc), wall };
  }

  /**
   * A receive event: merges the sender's stamps (either may be missing or, from a foreign
   * producer, malformed — then only the local clock advances) and returns the receive's stamps.
   */
  receive(remote: ReceivedStamp): ClockStamp {
    const wall = this.now();
    const lamport = remote.lamport !== undefined && Number.isSafeInteger(remote.lamport) ? remote.lamport : 0;
    this.lamport = Math.max(this.lamport, lamport) + 1;
    const theirs = remote.hlc !== undefined ? parseHlc(remote.hlc) : undefined;
    const mine = this.hlc;
    if (!theirs) {
      const physical = Math.max(mine.physical, wall);
      this.hlc = bounded(physical, physical === mine.physical ? mine.counter + 1 : 0);
    } else {
      const physical = Math.max(mine.physical, theirs.physical, wall);
      let counter: number;
      if (physical === mine.physical && physical === theirs.physical)
        counter = Math.max(mine.counter, theirs.counter) + 1;
      else if (physical === mine.physical) counter = mine.counter + 1;
      else if (physical === theirs.physical) counter = theirs.counter + 1;
      else counter = 0;
      this.hlc = bounded(physical, counter);
    }
    return { lamport: this.lamport, hlc: formatHlc(this.hlc), wall };
  }
}

/**
 * Keeps the counter within its 6 digits: a millionth event within one millisecond moves the
 * physical part on by 1 ms instead (still after every earlier reading, so the order holds).
 */
function bounded(physical: number, counter: number): Hlc {
  return counter > MAX_COUNTER ? { physical: physical + 1, counter: 0 } : { physical, counter };
}

/** The stamps of a received call's metadata values (undefined when absent or not a number). */
export function stampFromMetadata(lamport: string | undefined, hlc: string | undefined): ReceivedStamp {
  const n = lamport !== undefined && /^[0-9]{1,15}$/.test(lamport) ? Number(lamport) : undefined;
  return { lamport: n, hlc };
}

/** The one clock of this process: events, consumers, gRPC calls and timelines read it. */
export const processClock = new ProcessClock();

/** The process's wall clock as a Date (skewed by a chaos `clock` rule, if any). */
export function clockNow(): Date {
  return new Date(processClock.now());
}
