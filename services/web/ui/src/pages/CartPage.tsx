import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api, type Cart, problemText } from '../api/client';
import { CART_CHANGED } from '../components/AddToCart';
import { DegradedBanner, ErrorBanner, Loading } from '../components/Notices';
import { money, stockText } from '../format';

export function CartPage() {
  const [cart, setCart] = useState<Cart | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error: p, response } = await api.GET('/api/v1/cart');
    if (data) {
      setCart(data);
      setError(null);
    } else setError(problemText(p, response));
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const changed = async (res: { response: Response; error?: unknown }) => {
    if (!res.response.ok) setError(problemText(res.error, res.response));
    window.dispatchEvent(new Event(CART_CHANGED));
    await load();
  };
  const setQuantity = async (productId: string, quantity: number) =>
    changed(await api.PATCH('/api/v1/cart/items/{productId}', { params: { path: { productId } }, body: { quantity } }));
  const remove = async (productId: string) =>
    changed(await api.DELETE('/api/v1/cart/items/{productId}', { params: { path: { productId } } }));

  return (
    <section aria-labelledby="cart-title">
      <h1 id="cart-title">Your cart</h1>
      <ErrorBanner message={error} />
      {cart === null ? (
        error ? null : (
          <Loading what="your cart" />
        )
      ) : (
        <>
          <DegradedBanner degraded={cart.degraded} />
          {cart.lines.length === 0 ? (
            <p>
              Your cart is empty. <Link to="/">Browse the catalogue</Link>.
            </p>
          ) : (
            <>
              <table className="lines">
                <caption className="visually-hidden">Cart lines</caption>
                <thead>
                  <tr>
                    <th scope="col">Product</th>
                    <th scope="col">Quantity</th>
                    <th scope="col">Price</th>
                    <th scope="col">Total</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {cart.lines.map((l) => {
                    const name = l.name ?? l.productId;
                    return (
                      <tr key={l.productId} data-product-id={l.productId}>
                        <td>
                          <Link to={`/products/${encodeURIComponent(l.productId)}`}>{name}</Link>
                          <div className="muted">{stockText(l.available)}</div>
                        </td>
                        <td>
                          <label className="visually-hidden" htmlFor={`qty-${l.productId}`}>
                            Quantity of {name}
                          </label>
                          <input
                            id={`qty-${l.productId}`}
                            type="number"
                            min={1}
                            max={99}
                            defaultValue={l.quantity}
                            onBlur={(e) => {
                              const q = Number(e.target.value);
                              if (q >= 1 && q !== l.quantity) void setQuantity(l.productId, q);
                            }}
                          />
                        </td>
                        <td>{money(l.currentPrice ?? l.unitPrice)}</td>
                        <td>{money(l.lineTotal)}</td>
                        <td>
                          <button type="button" onClick={() => void remove(l.productId)} aria-label={`Remove ${name}`}>
                            Remove
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <p className="total">
                Total: <strong data-testid="cart-total">{money(cart.total)}</strong> ({cart.itemCount} items)
              </p>
              <Link className="button primary" to="/checkout">
                Check out
              </Link>
            </>
          )}
        </>
      )}
    </section>
  );
}
