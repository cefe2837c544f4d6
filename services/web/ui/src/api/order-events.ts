// The order's saga progress as the gateway streams it (GET /api/v1/orders/{id}/events,
// text/event-stream). The stream needs the shopper's Authorization header, which EventSource
// cannot send, so it is read with fetch and parsed with eventsource-parser; when it breaks
// before the order settles it is opened again after the server's `retry:` delay.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { currentSession } from '../session';
import type { SagaStep } from './client';

export type OrderStreamEvent =
  | { event: 'status'; data: { orderId: string; status: string; cancelReason: string | null } }
  | { event: 'step'; data: { orderId: string } & SagaStep };

export interface FollowOptions {
  onEvent: (event: OrderStreamEvent) => void;
  onState?: (state: 'open' | 'reconnecting' | 'closed') => void;
  signal: AbortSignal;
}

const TERMINAL = new Set(['CONFIRMED', 'CANCELLED']);

/** Follows an order's events until it is CONFIRMED or CANCELLED, or `signal` aborts. */
export async function followOrder(orderId: string, { onEvent, onState, signal }: FollowOptions): Promise<void> {
  let retryMs = 2_000;
  let finished = false;
  while (!finished && !signal.aborted) {
    try {
      const token = currentSession()?.token;
      const res = await fetch(`/api/v1/orders/${encodeURIComponent(orderId)}/events`, {
        headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal,
      });
      if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
      onState?.('open');
      const parser = createParser({
        onEvent: (message: EventSourceMessage) => {
          if (message.event !== 'status' && message.event !== 'step') return;
          const event = { event: message.event, data: JSON.parse(message.data) } as OrderStreamEvent;
          if (event.event === 'status' && TERMINAL.has(event.data.status)) finished = true;
          onEvent(event);
        },
        onRetry: (ms) => {
          retryMs = ms;
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (err) {
      if (signal.aborted) break;
      console.warn('order events stream failed', err);
    }
    if (finished || signal.aborted) break;
    onState?.('reconnecting');
    await new Promise((r) => setTimeout(r, retryMs));
  }
  onState?.('closed');
}
