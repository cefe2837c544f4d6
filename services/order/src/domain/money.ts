import type { Money } from '@shoplab/contracts';

export function money(amount: number, currency: string): Money {
  return { amount, currency };
}
