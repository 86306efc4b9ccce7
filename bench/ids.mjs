// bench/ids: what names cost. A boot script runs once, so each number comes from a fresh process (cold JIT), as a
// median over runs: reading the file, the full parsers, and the lazy lookups for a whole machine's devices.
// Usage: npm run build && node bench/ids.mjs [runs]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 11);
const lib = join(repo, 'dist', 'index.mjs');
if (!existsSync(lib)) throw new Error('dist/index.mjs is missing: run `npm run build` first');

// A ThinkPad T60's PCI devices (vendor, device, subsystem vendor, subsystem device, class); pci.ids names all
// but one subsystem (the CardBus bridge's): what `autoconfig probe` prints for a laptop of the Xenoppix era.
const t60 = [
  ['8086', '27a0', '17aa', '2017', '060000'],
  ['8086', '27a1', '0000', '0000', '060400'],
  ['8086', '27a2', '17aa', '201a', '030000'],
  ['8086', '27a6', '17aa', '201a', '038000'],
  ['8086', '27d8', '17aa', '2010', '040300'],
  ['8086', '27d0', '0000', '0000', '060400'],
  ['8086', '27d2', '0000', '0000', '060400'],
  ['8086', '27d4', '0000', '0000', '060400'],
  ['8086', '27c8', '17aa', '200a', '0c0300'],
  ['8086', '27c9', '17aa', '200a', '0c0300'],
  ['8086', '27ca', '17aa', '200a', '0c0300'],
  ['8086', '27cb', '17aa', '200a', '0c0300'],
  ['8086', '27cc', '17aa', '200b', '0c0320'],
  ['8086', '2448', '0000', '0000', '060401'],
  ['8086', '27b9', '17aa', '2009', '060100'],
  ['8086', '27c5', '17aa', '200d', '010601'],
  ['8086', '27df', '17aa', '200c', '01018a'],
  ['8086', '27da', '17aa', '200f', '0c0500'],
  ['104c', '8039', '17aa', '2012', '060700'],
  ['8086', '109a', '17aa', '2001', '020000'],
  ['8086', '4227', '8086', '1011', '028000'],
];

// One measurement in a fresh node; prints the milliseconds.
const child = `
const { readFileSync } = await import('node:fs');
const lib = await import(${JSON.stringify(pathToFileURL(lib).href)});
const [mode, file] = process.argv.slice(1);
const devices = ${JSON.stringify(t60)};
const text = readFileSync(file, 'utf8');
const start = performance.now();
if (mode === 'read') readFileSync(file, 'utf8');
if (mode === 'parse-pci') lib.parsePciIds(text);
if (mode === 'parse-usb') lib.parseUsbIds(text);
if (mode === 'warm-parse-pci' || mode === 'warm-parse-usb') {
  const parse = mode === 'warm-parse-pci' ? lib.parsePciIds : lib.parseUsbIds;
  for (let i = 0; i < 10; i++) parse(text);
  const times = [];
  for (let i = 0; i < 10; i++) { const t = performance.now(); parse(text); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  console.log(times[5]);
  process.exit(0);
}
if (mode === 'lazy-pci' || mode === 'lazy-pci-first') {
  const names = lib.PciNames.fromText(text);
  for (const [v, d, sv, sd, c] of mode === 'lazy-pci' ? devices : devices.slice(0, 1)) {
    names.vendor(v); names.device(v, d); names.vendor(sv); names.subsystem(v, d, sv, sd);
    names.className(c.slice(0, 2), c.slice(2, 4), c.slice(4));
  }
}
if (mode === 'lazy-usb') {
  const names = lib.UsbNames.fromText(text);
  const usb = [['1d6b', '0002', '09'], ['046d', 'c52b', '03'], ['8087', '0a2b', 'e0'], ['0bda', '57b3', '0e']];
  for (const [v, p, c] of usb) {
    names.vendor(v); names.product(v, p); names.className(c);
  }
}
console.log(performance.now() - start);
`;

function median(mode, file) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, mode, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${mode}: ${r.stderr}`);
    times.push(Number(r.stdout.trim()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const pci = join(repo, 'data', 'pci.ids');
const usb = join(repo, 'data', 'usb.ids');
const rows = [
  ['read pci.ids (utf8)', median('read', pci)],
  ['parsePciIds, cold', median('parse-pci', pci)],
  ['parsePciIds, warm', median('warm-parse-pci', pci)],
  ['PciNames: first lookup (builds the index)', median('lazy-pci-first', pci)],
  [`PciNames: ${t60.length} devices x 5 lookups`, median('lazy-pci', pci)],
  ['read usb.ids (utf8)', median('read', usb)],
  ['parseUsbIds, cold', median('parse-usb', usb)],
  ['parseUsbIds, warm', median('warm-parse-usb', usb)],
  ['UsbNames: 4 devices x 3 lookups', median('lazy-usb', usb)],
];
console.log(`bench/ids: median of ${runs} fresh processes each, in-process milliseconds\n`);
const width = Math.max(...rows.map(([what]) => what.length));
for (const [what, ms] of rows) console.log(`${what.padEnd(width)}  ${ms.toFixed(2).padStart(7)} ms`);
