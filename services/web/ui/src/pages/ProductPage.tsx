import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, type Product, problemText } from '../api/client';
import { AddToCart } from '../components/AddToCart';
import { DegradedBanner, ErrorBanner, Loading } from '../components/Notices';
import { ProductImage } from '../components/ProductImage';
import { money, stockText } from '../format';

export function ProductPage() {
  const { id = '' } = useParams();
  const [product, setProduct] = useState<Product | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [quantity, setQuantity] = useState(1);

  useEffect(() => {
    void api.GET('/api/v1/products/{id}', { params: { path: { id } } }).then(({ data, error: p, response }) => {
      if (data) setProduct(data);
      else setError(problemText(p, response));
    });
  }, [id]);

  if (error) return <ErrorBanner message={error} />;
  if (!product) return <Loading what="the product" />;
  return (
    <article aria-labelledby="product-title" className="product">
      <p>
        <Link to="/">← Catalogue</Link>
      </p>
      <DegradedBanner degraded={product.degraded} />
      <h1 id="product-title">{product.name}</h1>
      <ProductImage src={product.imageUrl} alt={product.name} category={product.category} width={320} height={240} />
      <p className="price">{money(product.price)}</p>
      <p className="stock">{stockText(product.available)}</p>
      <p>{product.description}</p>
      <p className="muted">
        {product.category} · SKU {product.sku}
      </p>
      <label htmlFor="quantity">Quantity</label>
      <input
        id="quantity"
        type="number"
        min={1}
        max={Math.max(1, Math.min(99, product.available ?? 99))}
        value={quantity}
        onChange={(e) => setQuantity(Math.max(1, Number(e.target.value) || 1))}
      />
      <AddToCart productId={product.id} name={product.name} quantity={quantity} disabled={product.available === 0} />
    </article>
  );
}
