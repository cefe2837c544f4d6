// Turns successive snapshots of an order into the Server-Sent Events of its progress: a
// `status` event when the status changes, a `step` event for every saga timeline entry not
// seen before (a step whose outcome changes counts as a new entry). Pure.
import { type OrderStatusName, type OrderView, type SagaStepView, TERMINAL_ORDER_STATUSES } from './views';

export type OrderEvent =
  | { event: 'status'; id: number; data: { orderId: string; status: OrderStatusName; cancelReason: string | null } }
  | { event: 'step'; id: number; data: { orderId: string } & SagaStepView };

export class OrderEventTracker {
  private sequence = 0;
  private status: OrderStatusName | undefined;
  private readonly seenSteps = new Set<string>();

  /** The events `order` adds to what earlier snapshots already reported. */
  next(order: OrderView): OrderEvent[] {
    const events: OrderEvent[] = [];
    const statusEvent = (): OrderEvent => ({
      event: 'status',
      id: ++this.sequence,
      data: { orderId: order.id, status: order.status, cancelReason: order.cancelReason },
    });
    // The first snapshot opens with the status; later ones close with it, after the steps that led there.
    const first = this.status === undefined;
    const changed = order.status !== this.status;
    this.status = order.status;
    if (first) events.push(statusEvent());
    for (const step of order.timeline) {
      const key = `${step.step}\u0000${step.attempt}\u0000${step.outcome}\u0000${step.startedAt ?? ''}`;
      if (this.seenSteps.has(key)) continue;
      this.seenSteps.add(key);
      events.push({ event: 'step', id: ++this.sequence, data: { orderId: order.id, ...step } });
    }
    if (!first && changed) events.push(statusEvent());
    return events;
  }

  /** True once the order reached CONFIRMED or CANCELLED: nothing more will happen. */
  get finished(): boolean {
    return this.status !== undefined && TERMINAL_ORDER_STATUSES.has(this.status);
  }
}
