import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api, type OrderPage, problemText } from '../api/client';
import { ErrorBanner, Loading } from '../components/Notices';
import { money, when } from '../format';

export function Orders() {
  const [items, setItems] = useState<OrderPage['items'] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async (cursor?: string) => {
    const {
      data,
      error: p,
      response,
    } = await api.GET('/api/v1/orders', {
      params: { query: { limit: 20, ...(cursor ? { cursor } : {}) } },
    });
    if (!data) return setError(problemText(p, response));
    setItems((old) => (cursor && old ? [...old, ...data.items] : data.items));
    setNext(data.nextCursor);
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: the first page, once.
  useEffect(() => {
    void load();
  }, []);

  return (
    <section aria-labelledby="orders-title">
      <h1 id="orders-title">Your orders</h1>
      <ErrorBanner message={error} />
      {items === null ? (
        error ? null : (
          <Loading what="your orders" />
        )
      ) : items.length === 0 ? (
        <p>No order yet.</p>
      ) : (
        <ul className="orders">
          {items.map((o) => (
            <li key={o.id} data-order-id={o.id}>
              <Link to={`/orders/${encodeURIComponent(o.id)}`}>Order {o.id.slice(0, 8)}</Link>{' '}
              <span className={`status status-${o.status.toLowerCase()}`}>{o.status}</span> · {money(o.total)} ·{' '}
              <span className="muted">{when(o.createdAt)}</span>
            </li>
          ))}
        </ul>
      )}
      {next ? (
        <button type="button" onClick={() => void load(next)}>
          More orders
        </button>
      ) : null}
    </section>
  );
}
