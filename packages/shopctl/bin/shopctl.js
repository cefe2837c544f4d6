#!/usr/bin/env node
// The `shopctl` command (`npx shopctl …` from anywhere in the repository). npm links a
// workspace's bin when it installs, before anything is built, so the link points at this
// committed file, which loads the compiled CLI.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'src', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(`shopctl: not built yet (${cli} is missing): run 'make build' (or 'make up') first\n`);
  process.exit(2);
}
require(cli).runFromProcess();
