'use strict';
// Loads the bundled CLI (dist/autoconfig.cjs) with V8's code cache (dist/autoconfig.cjs.cache, made by
// scripts/build.mjs after a representative run). Node 20 has no module compile cache: without one, every boot
// parses the bundle and compiles each function on first call, ~15 ms of a ~100 ms run. V8 checks the cache against
// the source and its own version and flags; a cache it rejects (another Node build, a stale file) only costs that
// normal compile. But V8 does not checksum the cache body (Node 20 release builds): a damaged file would crash
// the process, so the file carries its own CRC-32 and length (8-byte header) and is used only when they match.
// Nothing here writes: the cache is made at build time, never while configuring a machine.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire, wrap } = require('node:module');

/**
 * @param {{ dist?: string, cache?: boolean }} [options] dist: the directory with autoconfig.cjs; cache: false
 *   compiles without the cache file (what the build does before it makes one).
 * @returns {{ main: Function, script: import('node:vm').Script, cache: 'used' | 'rejected' | 'damaged' | 'none' }}
 *   rejected: V8 refused it (another Node build); damaged: its CRC-32 or length does not match, not given to V8.
 */
function loadCli(options = {}) {
  const dist = options.dist ?? path.join(__dirname, '..', 'dist');
  const file = path.join(dist, 'autoconfig.cjs');
  const source = fs.readFileSync(file, 'utf8');
  let cachedData;
  let damaged = false;
  if (options.cache !== false) {
    let bytes;
    try {
      bytes = fs.readFileSync(`${file}.cache`);
    } catch {
      // no cache: compile normally
    }
    if (bytes !== undefined) {
      cachedData = checkedBody(bytes);
      damaged = cachedData === undefined;
    }
  }
  const script = new vm.Script(wrap(source), { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dist);
  const cache = damaged ? 'damaged' : cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  return { main: module.exports.main, script, cache };
}

/** The cache file for V8's code cache `data`: CRC-32 and length of the body, then the body. */
function sealCache(data) {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(require('node:zlib').crc32(data), 0);
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

function checkedBody(bytes) {
  const { crc32 } = require('node:zlib');
  if (typeof crc32 !== 'function' || bytes.length < 8) return undefined;
  const body = bytes.subarray(8);
  if (bytes.readUInt32BE(4) !== body.length || bytes.readUInt32BE(0) !== crc32(body)) return undefined;
  return body;
}

module.exports = { loadCli, sealCache };
