#!/usr/bin/env node
'use strict';
// Thin launcher: run the bundled CLI, building it first when dist/ is missing (a clone without `npm ci`). CommonJS
// on purpose: a CommonJS entry starts ~4 ms sooner than an ES module one, and the bundle loads with a code cache.
const fs = require('node:fs');
const path = require('node:path');
const { loadCli } = require('./load-cli.cjs');

(async () => {
  if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'autoconfig.cjs'))) await import('../scripts/build.mjs');
  const { main } = loadCli();
  process.exitCode = await main({ argv: process.argv.slice(2) });
})();
