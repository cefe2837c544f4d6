import { type ReactNode, useEffect, useState } from 'react';
import { Link, Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import { api } from './api/client';
import { CART_CHANGED } from './components/AddToCart';
import { CartPage } from './pages/CartPage';
import { Catalogue } from './pages/Catalogue';
import { Checkout } from './pages/Checkout';
import { ControlRoom } from './pages/ControlRoom';
import { OrderPage } from './pages/OrderPage';
import { Orders } from './pages/Orders';
import { ProductPage } from './pages/ProductPage';
import { SignIn } from './pages/SignIn';
import { setSession, useSession } from './session';

function useCartCount(signedIn: boolean): number | null {
  const [count, setCount] = useState<number | null>(null);
  useEffect(() => {
    if (!signedIn) {
      setCount(null);
      return;
    }
    const refresh = () =>
      void api.GET('/api/v1/cart').then(({ data }) => {
        if (data) setCount(data.itemCount);
      });
    refresh();
    window.addEventListener(CART_CHANGED, refresh);
    return () => window.removeEventListener(CART_CHANGED, refresh);
  }, [signedIn]);
  return count;
}

/** Pages that need a signed-in shopper send the others to sign in first, and back. */
function SignedIn({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (!session) return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname)}`} replace />;
  return <>{children}</>;
}

export function App() {
  const session = useSession();
  const cartCount = useCartCount(session !== null);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          ShopLab
        </Link>
        <nav aria-label="Main">
          <NavLink to="/">Catalogue</NavLink>
          {session ? (
            <>
              <NavLink to="/cart">
                Cart
                {cartCount !== null ? (
                  <span className="badge" data-testid="cart-count">
                    {cartCount}
                    <span className="visually-hidden"> items</span>
                  </span>
                ) : null}
              </NavLink>
              <NavLink to="/orders">Orders</NavLink>
              <button type="button" className="link" onClick={() => setSession(null)}>
                Sign out {session.name}
              </button>
            </>
          ) : (
            <>
              <NavLink to="/signin">Sign in</NavLink>
              <NavLink to="/signup">Create account</NavLink>
            </>
          )}
          <NavLink to="/control">Control room</NavLink>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Catalogue />} />
          <Route path="/products/:id" element={<ProductPage />} />
          <Route path="/signin" element={<SignIn mode="signin" />} />
          <Route path="/signup" element={<SignIn mode="signup" />} />
          <Route
            path="/cart"
            element={
              <SignedIn>
                <CartPage />
              </SignedIn>
            }
          />
          <Route
            path="/checkout"
            element={
              <SignedIn>
                <Checkout />
              </SignedIn>
            }
          />
          <Route
            path="/orders"
            element={
              <SignedIn>
                <Orders />
              </SignedIn>
            }
          />
          <Route
            path="/orders/:id"
            element={
              <SignedIn>
                <OrderPage />
              </SignedIn>
            }
          />
          <Route path="/control" element={<ControlRoom />} />
          <Route
            path="*"
            element={
              <p>
                There is no such page. <Link to="/">Back to the catalogue</Link>.
              </p>
            }
          />
        </Routes>
      </main>
      <footer className="muted">
        ShopLab is a simulated shop for learning distributed design patterns: nothing is sold, no card is charged.
      </footer>
    </>
  );
}
