// Where the local stack (infra/local) keeps its state, and the admin token it generated: what
// the live tests of every package read to call the admin APIs of the running shop.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $SHOPLAB_STATE, else $XDG_STATE_HOME/shoplab, else ~/.local/state/shoplab (as infra/local/lib.sh). */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHOPLAB_STATE ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'shoplab');
}

/** The admin token: $ADMIN_TOKEN, else ADMIN_TOKEN in the local stack's secrets.env ('' when neither). */
export function localAdminToken(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ADMIN_TOKEN) return env.ADMIN_TOKEN;
  try {
    const line = readFileSync(join(localStateDir(env), 'secrets.env'), 'utf8')
      .split('\n')
      .find((l) => /^\s*(export\s+)?ADMIN_TOKEN=/.test(l));
    return (line?.split('=').slice(1).join('=') ?? '').trim().replace(/^(['"])(.*)\1$/, '$2');
  } catch {
    return '';
  }
}
