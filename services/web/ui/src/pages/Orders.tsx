// The shopper's orders, from the order history: the read side of CQRS (services/history), fed by
// the order and payment events, searchable by product words and status. It may lag a moment
// behind the order page (which reads the order service itself): the gateway says so
// (`freshness`, `behind`, `lag`), this page shows it and reads again until the history caught up.
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { api, type OrderHistory, problemText } from '../api/client';
import { DegradedBanner, ErrorBanner, Loading } from '../components/Notices';
import { money, when } from '../format';

type Filters = { q?: string; status?: 'PENDING' | 'CONFIRMED' | 'CANCELLED' };

/** How often the page reads again while the history is being updated, and for how long at most. */
const REFRESH_MS = 1000;
const REFRESH_FOR_MS = 60_000;

export function Orders() {
  const [answer, setAnswer] = useState<OrderHistory | null>(null);
  const [items, setItems] = useState<OrderHistory['orders'] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState<Filters['status'] | ''>('');
  const filters = useRef<Filters>({});
  const refreshUntil = useRef(Date.now() + REFRESH_FOR_MS);

  const load = useCallback(async (cursor?: string) => {
    const {
      data,
      error: p,
      response,
    } = await api.GET('/api/v1/orders/history', {
      params: { query: { limit: 20, ...filters.current, ...(cursor ? { cursor } : {}) } },
    });
    if (!data) return setError(problemText(p, response));
    setError(null);
    setAnswer(data);
    setItems((old) => (cursor && old ? [...old, ...data.orders] : data.orders));
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  // While the history is behind the caller's newest order, read the first page again: each
  // answer that is still behind sets the next read.
  const beingUpdated = answer?.freshness === 'being updated';
  useEffect(() => {
    if (answer?.freshness !== 'being updated' || Date.now() > refreshUntil.current) return;
    const timer = setTimeout(() => void load(), REFRESH_MS);
    return () => clearTimeout(timer);
  }, [answer, load]);

  const search = (e: FormEvent) => {
    e.preventDefault();
    filters.current = { ...(query.trim() ? { q: query.trim() } : {}), ...(status ? { status } : {}) };
    refreshUntil.current = Date.now() + REFRESH_FOR_MS;
    setItems(null);
    void load();
  };

  return (
    <section aria-labelledby="orders-title">
      <h1 id="orders-title">Your orders</h1>
      <form className="search" onSubmit={search}>
        <input
          type="search"
          aria-label="Search your orders"
          placeholder="Product words"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <select
          aria-label="Status"
          value={status}
          onChange={(e) => setStatus(e.target.value as Filters['status'] | '')}
        >
          <option value="">Any status</option>
          <option value="PENDING">Pending</option>
          <option value="CONFIRMED">Confirmed</option>
          <option value="CANCELLED">Cancelled</option>
        </select>
        <button type="submit">Search</button>
      </form>
      <ErrorBanner message={error} />
      <DegradedBanner degraded={answer?.degraded} />
      {beingUpdated ? (
        <div className="banner degraded" role="status" data-testid="history-freshness">
          <strong>Being updated.</strong> Your newest order
          {answer?.behind ? (
            <>
              {' '}
              (
              <Link to={`/orders/${encodeURIComponent(answer.behind.orderId)}`}>
                {answer.behind.orderId.slice(0, 8)}
              </Link>
              , {answer.behind.status})
            </>
          ) : null}{' '}
          is not in your order history as it is yet
          {answer?.lag && answer.lag.events > 0 ? ` (${answer.lag.events} events to apply)` : ''}; this list reads again
          by itself. The order's own page is always current.
        </div>
      ) : null}
      {items === null ? (
        error ? null : (
          <Loading what="your orders" />
        )
      ) : items.length === 0 ? (
        <p>{filters.current.q || filters.current.status ? 'No order matches.' : 'No order yet.'}</p>
      ) : (
        <ul className="orders">
          {items.map((o) => (
            <li key={o.orderId} data-order-id={o.orderId} data-version={o.version}>
              <Link to={`/orders/${encodeURIComponent(o.orderId)}`}>Order {o.orderId.slice(0, 8)}</Link>{' '}
              <span className={`status status-${(o.status ?? 'pending').toLowerCase()}`}>{o.status ?? 'PENDING'}</span>
              {o.total ? ` · ${money(o.total)}` : ''} ·{' '}
              <span className="muted">{o.timings.createdAt ? when(o.timings.createdAt) : ''}</span>
              {o.items.length > 0 ? (
                <span className="muted">
                  {' '}
                  · {o.items.map((i) => `${i.quantity} × ${i.name ?? i.productId}`).join(', ')}
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {answer?.nextCursor ? (
        <button type="button" onClick={() => void load(answer.nextCursor ?? undefined)}>
          More orders
        </button>
      ) : null}
    </section>
  );
}
