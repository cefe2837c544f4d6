import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { localAdminToken, localStateDir } from '../../src/testing';

test('the state directory: $SHOPLAB_STATE, else $XDG_STATE_HOME/shoplab', () => {
  assert.equal(localStateDir({ SHOPLAB_STATE: '/s' }), '/s');
  assert.equal(localStateDir({ XDG_STATE_HOME: '/x' }), join('/x', 'shoplab'));
});

test('the admin token: $ADMIN_TOKEN first, else secrets.env (quotes and export allowed), else empty', () => {
  const state = mkdtempSync(join(tmpdir(), 'shoplab-state-'));
  try {
    assert.equal(localAdminToken({ ADMIN_TOKEN: 'from-env', SHOPLAB_STATE: state }), 'from-env');
    assert.equal(localAdminToken({ SHOPLAB_STATE: state }), '', 'no secrets file');
    writeFileSync(join(state, 'secrets.env'), "JWT_SECRET=j\nexport ADMIN_TOKEN='ab=cd'\n");
    assert.equal(localAdminToken({ SHOPLAB_STATE: state }), 'ab=cd');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
