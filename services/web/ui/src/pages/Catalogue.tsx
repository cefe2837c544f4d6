import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, type ProductPage, problemText } from '../api/client';
import { AddToCart } from '../components/AddToCart';
import { ErrorBanner, Loading } from '../components/Notices';
import { ProductImage } from '../components/ProductImage';
import { money, stockText } from '../format';

type Item = ProductPage['items'][number];

/** Browse and search the catalogue: text search (q), a page at a time. */
export function Catalogue() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [draft, setDraft] = useState(q);
  const [items, setItems] = useState<Item[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (cursor?: string) => {
      const {
        data,
        error: problem,
        response,
      } = await api.GET('/api/v1/products', {
        params: { query: { limit: 24, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) } },
      });
      if (!data) {
        setError(problemText(problem, response));
        setItems((old) => old ?? []);
        return;
      }
      setError(null);
      setItems((old) => (cursor && old ? [...old, ...data.items] : data.items));
      setNext(data.nextCursor);
    },
    [q],
  );

  useEffect(() => {
    setItems(null);
    void load();
  }, [load]);

  const search = (e: FormEvent) => {
    e.preventDefault();
    setParams(draft.trim() ? { q: draft.trim() } : {});
  };

  return (
    <section aria-labelledby="catalogue-title">
      <h1 id="catalogue-title">Catalogue</h1>
      <search>
        <form className="search" onSubmit={search}>
          <label htmlFor="q">Search products</label>
          <input id="q" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} maxLength={100} />
          <button type="submit">Search</button>
        </form>
      </search>
      <ErrorBanner message={error} />
      {items === null ? (
        <Loading what="products" />
      ) : items.length === 0 ? (
        <p>No product matches{q ? ` “${q}”` : ''}.</p>
      ) : (
        <ul className="grid" aria-label="Products">
          {items.map((p) => (
            <li key={p.id} className="card" data-product-id={p.id}>
              <ProductImage src={p.imageUrl} alt="" category={p.category} width={320} height={200} />
              <h2>
                <Link to={`/products/${encodeURIComponent(p.id)}`}>{p.name}</Link>
              </h2>
              <p className="price">{money(p.price)}</p>
              <p className={`stock${p.available === 0 ? ' out' : ''}`}>{stockText(p.available)}</p>
              <AddToCart productId={p.id} name={p.name} disabled={p.available === 0} />
            </li>
          ))}
        </ul>
      )}
      {next ? (
        <button type="button" onClick={() => void load(next)}>
          More products
        </button>
      ) : null}
    </section>
  );
}
