import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, type Order, problemText, type SagaStep } from '../api/client';
import { followOrder } from '../api/order-events';
import { CART_CHANGED } from '../components/AddToCart';
import { DegradedBanner, ErrorBanner, Loading } from '../components/Notices';
import { Timeline } from '../components/Timeline';
import { money, when } from '../format';

/**
 * An order with its saga timeline, live: the gateway's event stream adds each step as the
 * order service records it, and the status when it changes; once the order settles, the
 * composed order (payment included) is read again.
 */
export function OrderPage() {
  const { id = '' } = useParams();
  const [order, setOrder] = useState<Order | null>(null);
  const [steps, setSteps] = useState<SagaStep[]>([]);
  const [status, setStatus] = useState<{ status: string; cancelReason: string | null } | null>(null);
  const [live, setLive] = useState<'open' | 'reconnecting' | 'closed' | 'connecting'>('connecting');
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error: p, response } = await api.GET('/api/v1/orders/{id}', { params: { path: { id } } });
    if (data) {
      setOrder(data);
      setSteps((old) => (data.timeline.length >= old.length ? data.timeline : old));
      setStatus({ status: data.status, cancelReason: data.cancelReason });
    } else setError(problemText(p, response));
  }, [id]);

  useEffect(() => {
    const stop = new AbortController();
    void load();
    void followOrder(id, {
      signal: stop.signal,
      onState: setLive,
      onEvent: (e) => {
        if (e.event === 'step') {
          const { orderId: _orderId, ...step } = e.data;
          setSteps((old) => [...old, step]);
        } else {
          setStatus({ status: e.data.status, cancelReason: e.data.cancelReason });
          if (e.data.status === 'CONFIRMED' || e.data.status === 'CANCELLED') {
            void load();
            // A confirmed order has emptied the cart.
            window.dispatchEvent(new Event(CART_CHANGED));
          }
        }
      },
    });
    return () => stop.abort();
  }, [id, load]);

  if (error && !order) return <ErrorBanner message={error} />;
  if (!order) return <Loading what="the order" />;
  const current = status?.status ?? order.status;
  return (
    <article aria-labelledby="order-title">
      <p>
        <Link to="/orders">← Your orders</Link>
      </p>
      <h1 id="order-title">Order {order.id.slice(0, 8)}</h1>
      <DegradedBanner degraded={order.degraded} />
      <p>
        Status:{' '}
        <strong className={`status status-${current.toLowerCase()}`} data-testid="order-status" aria-live="polite">
          {current}
        </strong>
        {status?.cancelReason ? <span className="muted"> — {status.cancelReason}</span> : null}
      </p>
      <p className="muted" data-testid="live-state">
        {live === 'open'
          ? 'Following the saga live.'
          : live === 'reconnecting'
            ? 'The live stream broke; reconnecting…'
            : live === 'connecting'
              ? 'Connecting to the live stream…'
              : 'The saga has finished.'}
      </p>
      <h2>Saga timeline</h2>
      <Timeline steps={steps} />
      <h2>Lines</h2>
      <ul>
        {order.lines.map((l) => (
          <li key={l.productId}>
            {l.quantity} × {l.product?.name ?? l.name} — {money(l.lineTotal)}
          </li>
        ))}
      </ul>
      <p className="total">
        Total: <strong>{money(order.total)}</strong>
      </p>
      <h2>Payment</h2>
      {order.payment ? (
        <p data-testid="payment">
          {order.payment.status} · captured {money(order.payment.captured)} · refunded {money(order.payment.refunded)}
          {order.payment.cardLast4 ? ` · card ending ${order.payment.cardLast4}` : ''}
        </p>
      ) : (
        <p className="muted">No payment yet.</p>
      )}
      <p className="muted">Placed {when(order.createdAt)}</p>
    </article>
  );
}
