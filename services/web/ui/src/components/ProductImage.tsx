import { useState } from 'react';

/** A product's picture, or a plain tile with its category when there is none or it does not load. */
export function ProductImage({
  src,
  alt,
  category,
  width,
  height,
}: {
  src: string | null;
  alt: string;
  category: string;
  width: number;
  height: number;
}) {
  const [failed, setFailed] = useState(false);
  if (!src || failed) {
    return (
      <div className="tile" style={{ aspectRatio: `${width} / ${height}` }} aria-hidden="true">
        {category}
      </div>
    );
  }
  return <img src={src} alt={alt} loading="lazy" width={width} height={height} onError={() => setFailed(true)} />;
}
