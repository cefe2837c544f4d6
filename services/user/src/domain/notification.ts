// The notification log: what the shop would have e-mailed a user, and when. No mail is sent;
// the log is the record (and what a mailer would read). Pure: no I/O.
import type { Money } from '@shoplab/contracts';

export const NOTIFICATION_KINDS = ['welcome', 'order_confirmed', 'order_cancelled'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface Notification {
  id: string;
  userId: string;
  /** The address it would have gone to (the user's email at the time). */
  email: string;
  kind: NotificationKind;
  subject: string;
  body: string;
  orderId: string | null;
  createdAt: Date;
}

/** A notification to log; the store adds the id and the time. */
export type NotificationDraft = Omit<Notification, 'id' | 'createdAt'>;

export interface Recipient {
  id: string;
  email: string;
  name: string;
}

/** Minor units as a price: `USD 1,234.50`. Two decimals, as every ShopLab currency has. */
export function formatMoney({ amount, currency }: Money): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const whole = Math.floor(abs / 100).toLocaleString('en-US');
  return `${currency} ${sign}${whole}.${String(abs % 100).padStart(2, '0')}`;
}

export function welcomeNotification(user: Recipient): NotificationDraft {
  return {
    userId: user.id,
    email: user.email,
    kind: 'welcome',
    subject: `Welcome to ShopLab, ${user.name}`,
    body: [`Hi ${user.name},`, '', 'your ShopLab account is ready. Happy shopping!', '', '— ShopLab'].join('\n'),
    orderId: null,
  };
}

export interface ConfirmedOrder {
  orderId: string;
  lines: { productId: string; name?: string | undefined; quantity: number; lineTotal?: Money | undefined }[];
  total: Money;
}

export function orderConfirmedNotification(user: Recipient, order: ConfirmedOrder): NotificationDraft {
  const lines = order.lines.map(
    (l) => `  ${l.quantity} × ${l.name ?? l.productId}${l.lineTotal ? ` — ${formatMoney(l.lineTotal)}` : ''}`,
  );
  return {
    userId: user.id,
    email: user.email,
    kind: 'order_confirmed',
    subject: `Your ShopLab order ${order.orderId} is confirmed`,
    body: [
      `Hi ${user.name},`,
      '',
      `thank you for your order ${order.orderId}. It is paid and on its way:`,
      '',
      ...lines,
      '',
      `Total: ${formatMoney(order.total)}`,
      '',
      '— ShopLab',
    ].join('\n'),
    orderId: order.orderId,
  };
}

export interface CancelledOrder {
  orderId: string;
  reason: string;
  total: Money;
}

export function orderCancelledNotification(user: Recipient, order: CancelledOrder): NotificationDraft {
  return {
    userId: user.id,
    email: user.email,
    kind: 'order_cancelled',
    subject: `Your ShopLab order ${order.orderId} was cancelled`,
    body: [
      `Hi ${user.name},`,
      '',
      `we are sorry: your order ${order.orderId} (${formatMoney(order.total)}) was cancelled.`,
      `Reason: ${order.reason}`,
      'You have not been charged for it.',
      '',
      '— ShopLab',
    ].join('\n'),
    orderId: order.orderId,
  };
}
