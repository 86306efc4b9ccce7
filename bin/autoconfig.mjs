#!/usr/bin/env node
// Thin launcher: run the bundled CLI, building it first when dist/ is missing (a clone without `npm ci`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/autoconfig.mjs', import.meta.url);
if (!existsSync(fileURLToPath(bundle))) await import('../scripts/build.mjs');
const { main } = await import(bundle.href);
process.exitCode = await main({ argv: process.argv.slice(2) });
