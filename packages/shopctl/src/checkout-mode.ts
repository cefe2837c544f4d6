// `shopctl checkout-mode [mode]`: which checkout mode new orders get — the saga (`orchestrated`),
// services reacting to each other's events (`choreographed`, docs/patterns/choreography.md) or
// one distributed transaction (`two-phase`) — read, or switched, on the order service's
// `/v1/admin/checkout-mode`. Each order keeps the mode it was created in.
import { adminBaseUrl, requestJson, resolveAdminToken } from './api';
import type { CliIo } from './command';
import { messageOf } from './error-text';

export const CHECKOUT_MODE_USAGE = `usage: shopctl checkout-mode [orchestrated|choreographed|two-phase]
  without a mode: the mode new checkouts get, and the modes the order service runs
  with a mode: switch to it (409 for a mode the service does not run); a restart of order
  returns to its CHECKOUT_MODE setting
  The order service's admin listener is called on $SHOPLAB_ORDER_ADMIN_URL, else $SHOPLAB_ORDER_URL,
  else http://127.0.0.1:7085, with the admin token ($ADMIN_TOKEN, else ADMIN_TOKEN in
  $SHOPLAB_STATE/secrets.env).`;

const MODES = ['orchestrated', 'choreographed', 'two-phase'];

export async function checkoutModeCommand(argv: string[], io: CliIo): Promise<number> {
  const [mode, extra] = argv;
  if (mode === '--help' || mode === '-h' || mode === 'help') {
    io.out(`${CHECKOUT_MODE_USAGE}\n`);
    return 0;
  }
  if (extra !== undefined || (mode !== undefined && !MODES.includes(mode))) {
    io.err(`shopctl checkout-mode: ${mode ?? ''} is not a mode\n${CHECKOUT_MODE_USAGE}\n`);
    return 2;
  }
  const token = resolveAdminToken(undefined, io.env);
  if (!token) {
    io.err('shopctl checkout-mode: no admin token (ADMIN_TOKEN, or the local secrets file)\n');
    return 2;
  }
  const url = `${adminBaseUrl('order', io.env)}/v1/admin/checkout-mode`;
  try {
    const answer = await requestJson<{ mode: string; available: string[] }>(mode ? 'PUT' : 'GET', url, {
      token,
      ...(mode ? { body: { mode } } : {}),
    });
    io.out(`checkout mode: ${answer.mode} (available: ${answer.available.join(', ')})\n`);
    return 0;
  } catch (err) {
    io.err(`shopctl checkout-mode: ${messageOf(err, { cause: false })}\n`);
    return 1;
  }
}
