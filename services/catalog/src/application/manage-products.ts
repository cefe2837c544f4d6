// Adding products (the admin API): a new product arrives with its stock, so the audit's
// invariant 4 (initial = available + reserved + sold) holds from its first moment.
import { randomUUID } from 'node:crypto';
import type { Money } from '@shoplab/contracts';
import type { Product } from '../domain/product';
import type { ProductWriter } from './ports';

export interface AddProductInput {
  /** Default: derived from the generated id. */
  sku?: string | undefined;
  name: string;
  description?: string | undefined;
  category: string;
  price: Money;
  imageUrl?: string | undefined;
  /** Units for sale from now on. */
  stock: number;
}

export class ManageProducts {
  constructor(
    private readonly products: ProductWriter,
    /** Ids sort after the seed's `p-0001…` (byte order), so the demo catalog still pages first. */
    private readonly newId: () => string = () => `prd-${randomUUID()}`,
  ) {}

  add(input: AddProductInput): Promise<Product> {
    const id = this.newId();
    return this.products.create({
      id,
      sku: input.sku ?? id.toUpperCase(),
      name: input.name,
      description: input.description ?? '',
      category: input.category,
      price: input.price,
      imageUrl: input.imageUrl ?? '',
      initialStock: input.stock,
    });
  }
}
