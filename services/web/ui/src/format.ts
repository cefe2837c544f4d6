import type { Money } from './api/client';

export function money(m: Money): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: m.currency }).format(m.amount / 100);
}

export function stockText(available: number | null): string {
  if (available === null) return 'Stock unknown right now';
  if (available <= 0) return 'Out of stock';
  return `${available} in stock`;
}

export function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '';
}
