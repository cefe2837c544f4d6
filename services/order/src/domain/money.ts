/** Money in integer minor units (cents) with an ISO 4217 currency code. */
export interface Money {
  amount: number;
  currency: string;
}

export function money(amount: number, currency: string): Money {
  return { amount, currency };
}
