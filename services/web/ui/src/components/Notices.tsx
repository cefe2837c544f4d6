// What a page says about the answer it got: a degraded answer names what is missing, an error
// says what went wrong. Both are announced to screen readers (role status / alert).

const MISSING: Record<string, string> = {
  stock: 'live stock',
  catalog: 'current names, prices and stock from the catalog',
  products: 'product details',
  payment: 'the payment',
  orders: 'your orders',
  cart: 'your cart',
};

export function DegradedBanner({ degraded }: { degraded?: readonly string[] | undefined }) {
  if (!degraded || degraded.length === 0) return null;
  return (
    <div className="banner degraded" role="status" data-testid="degraded">
      <strong>Partial answer.</strong> The shop could not reach everything it needed; missing:{' '}
      {degraded.map((d) => MISSING[d] ?? d).join(', ')}. What is shown is still correct; try again shortly.
    </div>
  );
}

export function ErrorBanner({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <div className="banner error" role="alert">
      {message}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}
