import { type FormEvent, useState } from 'react';
import { useNavigate } from 'react-router';
import { api, problemText } from '../api/client';
import { CART_CHANGED } from '../components/AddToCart';
import { ErrorBanner } from '../components/Notices';

/** The shop's test cards (services/payment): one is paid, one is declined by the bank. */
export const TEST_CARDS = {
  ok: { number: '4242 4242 4242 4242', label: 'the test card that pays' },
  declined: { number: '4000 0000 0000 0002', label: 'the test card that is declined' },
} as const;

const RETRY_STATUSES = new Set([429, 503, 504]);

export function Checkout() {
  const navigate = useNavigate();
  const [number, setNumber] = useState('');
  const [expMonth, setExpMonth] = useState(12);
  const [expYear, setExpYear] = useState(new Date().getFullYear() + 5);
  const [cvc, setCvc] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // One key per checkout: a retry after 429/503/504 or no answer returns the same order.
  const [key] = useState(() => `web-${crypto.randomUUID()}`);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy('Placing your order…');
    for (let attempt = 1; attempt <= 20; attempt++) {
      try {
        const {
          data,
          error: p,
          response,
        } = await api.POST('/api/v1/checkout', {
          params: { header: { 'idempotency-key': key } },
          body: { card: { number, expMonth, expYear, cvc } },
        });
        if (data) {
          window.dispatchEvent(new Event(CART_CHANGED));
          navigate(`/orders/${encodeURIComponent(data.orderId)}`);
          return;
        }
        if (!RETRY_STATUSES.has(response.status)) {
          setError(problemText(p, response));
          break;
        }
        const wait = Number(response.headers.get('retry-after') ?? '1');
        setBusy(`The shop is busy; trying again (attempt ${attempt + 1})…`);
        await new Promise((r) => setTimeout(r, Math.min(10, Math.max(1, wait)) * 1000));
      } catch (err) {
        setBusy(`No answer; trying again (attempt ${attempt + 1})…`);
        await new Promise((r) => setTimeout(r, 1000));
        if (attempt === 20) setError(problemText(err));
      }
    }
    setBusy(null);
  };

  return (
    <section aria-labelledby="checkout-title">
      <h1 id="checkout-title">Checkout</h1>
      <p>
        ShopLab never charges a real card. Use{' '}
        <button type="button" className="link" onClick={() => setNumber(TEST_CARDS.ok.number)}>
          {TEST_CARDS.ok.label}
        </button>{' '}
        or{' '}
        <button type="button" className="link" onClick={() => setNumber(TEST_CARDS.declined.number)}>
          {TEST_CARDS.declined.label}
        </button>
        .
      </p>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <label htmlFor="card-number">Card number</label>
        <input
          id="card-number"
          inputMode="numeric"
          autoComplete="cc-number"
          required
          value={number}
          onChange={(e) => setNumber(e.target.value)}
        />
        <div className="row">
          <div>
            <label htmlFor="exp-month">Expiry month</label>
            <input
              id="exp-month"
              type="number"
              min={1}
              max={12}
              required
              value={expMonth}
              onChange={(e) => setExpMonth(Number(e.target.value))}
            />
          </div>
          <div>
            <label htmlFor="exp-year">Expiry year</label>
            <input
              id="exp-year"
              type="number"
              min={2000}
              max={2100}
              required
              value={expYear}
              onChange={(e) => setExpYear(Number(e.target.value))}
            />
          </div>
          <div>
            <label htmlFor="cvc">CVC</label>
            <input
              id="cvc"
              inputMode="numeric"
              autoComplete="cc-csc"
              required
              value={cvc}
              onChange={(e) => setCvc(e.target.value)}
            />
          </div>
        </div>
        <button type="submit" className="primary" disabled={busy !== null}>
          Place order
        </button>
        <p role="status" className="muted">
          {busy ?? ''}
        </p>
      </form>
      <ErrorBanner message={error} />
    </section>
  );
}
