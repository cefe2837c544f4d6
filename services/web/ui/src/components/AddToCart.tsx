import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, problemText } from '../api/client';
import { useSession } from '../session';

export const CART_CHANGED = 'shoplab:cart-changed';

/** Adds `quantity` of a product to the signed-in shopper's cart (sign in first otherwise). */
export function AddToCart({
  productId,
  name,
  quantity = 1,
  disabled = false,
}: {
  productId: string;
  name: string;
  quantity?: number;
  disabled?: boolean;
}) {
  const session = useSession();
  const navigate = useNavigate();
  const [state, setState] = useState<'idle' | 'adding' | 'added' | string>('idle');

  const add = async () => {
    if (!session) {
      navigate(`/signin?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
      return;
    }
    setState('adding');
    const { error, response } = await api.POST('/api/v1/cart/items', { body: { productId, quantity } });
    if (response.ok) {
      setState('added');
      window.dispatchEvent(new Event(CART_CHANGED));
    } else setState(problemText(error, response));
  };

  return (
    <div className="add-to-cart">
      <button
        type="button"
        onClick={() => void add()}
        disabled={disabled || state === 'adding'}
        aria-label={`Add ${name} to cart`}
      >
        {disabled ? 'Out of stock' : 'Add to cart'}
      </button>
      <span
        role="status"
        className={state !== 'added' && state !== 'adding' && state !== 'idle' ? 'error-text' : 'muted'}
      >
        {state === 'added' ? 'Added to your cart' : state === 'idle' || state === 'adding' ? '' : state}
      </span>
    </div>
  );
}
