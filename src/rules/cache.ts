// The compiled-rules cache: local rule files (`--rules`, the target's /etc/autoconfig/rules.d) parsed and
// validated once, the result kept in the target's /var/cache/autoconfig/rules.json. Parsing YAML and linting costs
// ~100 ms of a ~100 ms boot; JSON of the same result, ~1 ms. Rules in rules.d would otherwise cost every boot that.
//
// A cache must never change a result, so it is used only when it is exactly what compiling would give now:
// - its key is a SHA-256 of the cache format, autoconfig's version, the shipped rules the local ones were validated
//   after (their whole content), and every local file's name and text in load order: any edit, rename, reorder,
//   new file or new autoconfig makes another key, and the cache is ignored (and replaced by the next --write);
// - a second SHA-256 covers the body: a truncated or damaged file is ignored, never half used;
// - what it holds is loadRuleTexts()'s own result (files and issues, every position), stored as JSON; the tests
//   check that a round trip through the cache is the identical object and the plan the identical plan.
// An ignored cache says why (LoadedRules.cacheNote, a note of the plan). This module only reads it: what to write
// is handed up (LoadedRules.cacheFile, Decided.rulesCacheFile), and only `--write` (configure()) writes it, under
// the target's lock, after the plan's files, atomically and confined to the target like every written file. A dry
// run or explain reads it at most.
// Imported lazily by load.ts: with no local rules neither this module nor node:crypto is loaded.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { nodeFsPromises, type FsLike } from '../fs.ts';
import { Reader } from '../probe/_reader.ts';
import { VERSION } from '../version.ts';
import type { RuleFile, RuleIssue } from './types.ts';

/** Inside the target root. */
export const RULES_CACHE_PATH = '/var/cache/autoconfig/rules.json';

/** Bumped when what the file holds changes meaning: an older file then has another key. */
export const RULES_CACHE_FORMAT = 1;

const MAGIC = 'autoconfig-compiled-rules';

/** A compiled result is several times its texts; a cache larger than this is not read (a rule set is kilobytes). */
export const RULES_CACHE_CAP = 64 * 1024 * 1024;

export interface RulesCacheOptions {
  /** The root whose /var/cache/autoconfig holds the cache: the target (`--target`, else `--root`). */
  target: string;
  /** node:fs by default. */
  fs?: FsLike;
}

/** The cache file a run that writes should leave (path inside the target). */
export interface RulesCacheFile {
  path: string;
  content: string;
}

/** What a compile of rule texts gives (load.ts loadRuleTexts; LoadedRules has this shape): kept whole in the cache. */
export interface CompiledRules {
  files: RuleFile[];
  issues: RuleIssue[];
}

export type RulesCacheStatus = 'used' | 'absent' | 'stale' | 'damaged';

export interface CachedRules {
  /** loadRuleTexts()'s result for the texts: from the cache, or compiled. */
  loaded: CompiledRules;
  status: RulesCacheStatus;
  /** The cache to write when it was absent or ignored (a run that writes writes it); null when used or not keepable. */
  file: RulesCacheFile | null;
  /** Said where the cache was ignored or cannot be kept; null otherwise. */
  note: string | null;
}

// The shipped set's digest, once per array (a process plans with one shipped set, a corpus diff with two).
const shippedDigests = new WeakMap<readonly RuleFile[], string>();

function shippedDigest(shipped: readonly RuleFile[]): string {
  let digest = shippedDigests.get(shipped);
  if (digest === undefined) {
    digest = createHash('sha256').update(JSON.stringify(shipped)).digest('hex');
    shippedDigests.set(shipped, digest);
  }
  return digest;
}

/** The key of a compile of `texts` after `shipped`: every input of loadRuleTexts() and the code's version. */
export function rulesCacheKey(texts: readonly { file: string; text: string }[], shipped: readonly RuleFile[]): string {
  const hash = createHash('sha256');
  hash.update(`${MAGIC}\0${RULES_CACHE_FORMAT}\0${VERSION}\0${shippedDigest(shipped)}\0${texts.length}\0`);
  // Lengths first, so that no two different lists of names and texts give the same stream of bytes.
  for (const { file, text } of texts) {
    hash.update(`${Buffer.byteLength(file)}\0${file}\0${Buffer.byteLength(text)}\0`);
    hash.update(text);
  }
  return hash.digest('hex');
}

/**
 * The file: `MAGIC FORMAT KEY\n`, the body's SHA-256 and `\n`, then the body (JSON of files and issues). null when
 * JSON would not give back the same values (a YAML .inf or .nan, -0, an undefined property): not cached, rather
 * than a cache whose result differs.
 */
export function renderRulesCache(key: string, loaded: CompiledRules): string | null {
  let exact = true;
  const body = JSON.stringify({ files: loaded.files, issues: loaded.issues }, function (this: unknown, _key, value: unknown) {
    if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) exact = false;
    else if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') exact = false;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) exact = false;
    return value;
  });
  if (!exact) return null;
  return `${MAGIC} ${RULES_CACHE_FORMAT} ${key}\n${createHash('sha256').update(body).digest('hex')}\n${body}`;
}

type Parsed = { status: 'used'; loaded: CompiledRules } | { status: 'stale' | 'damaged'; why: string };

/** A cache file's bytes against the key wanted. */
export function parseRulesCache(bytes: Uint8Array, key: string): Parsed {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = buf.indexOf(10);
  const second = first < 0 ? -1 : buf.indexOf(10, first + 1);
  if (second < 0) return { status: 'damaged', why: 'no header' };
  const header = buf.subarray(0, first).toString('latin1').split(' ');
  if (header.length !== 3 || header[0] !== MAGIC || !/^[0-9a-f]{64}$/.test(header[2]!)) return { status: 'damaged', why: 'not a compiled-rules cache' };
  // Another format or key: made by another autoconfig, or for other rules or other shipped rules.
  if (header[1] !== String(RULES_CACHE_FORMAT) || header[2] !== key) return { status: 'stale', why: 'made for other rule files, shipped rules or autoconfig version' };
  const body = buf.subarray(second + 1);
  if (createHash('sha256').update(body).digest('hex') !== buf.subarray(first + 1, second).toString('latin1')) {
    return { status: 'damaged', why: 'its checksum does not match its content' };
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 'damaged', why: 'not JSON' };
  }
  const v = value as { files?: unknown; issues?: unknown };
  if (typeof v !== 'object' || v === null || !Array.isArray(v.files) || !Array.isArray(v.issues)) return { status: 'damaged', why: 'not a compile result' };
  return { status: 'used', loaded: { files: v.files as RuleFile[], issues: v.issues as RuleIssue[] } };
}

/**
 * The compile of `texts` after `shipped`: from the target's cache when it holds exactly that, else `compile()` and
 * the cache file that would hold its result. A cache that cannot be read, is damaged or is for other inputs is
 * ignored and said; it never fails the run. Nothing is written here.
 */
export async function cachedRuleTexts(
  texts: readonly { file: string; text: string }[],
  shipped: readonly RuleFile[],
  options: RulesCacheOptions,
  compile: () => Promise<CompiledRules>,
): Promise<CachedRules> {
  const fs = options.fs ?? nodeFsPromises;
  const shown = posix.join(options.target, RULES_CACHE_PATH);
  const key = rulesCacheKey(texts, shipped);
  const reader = new Reader({ fs, root: options.target });
  const bytes = await reader.bytes(RULES_CACHE_PATH, { cap: RULES_CACHE_CAP });
  let status: RulesCacheStatus = 'absent';
  let why = '';
  if (bytes !== null) {
    const parsed = parseRulesCache(bytes, key);
    if (parsed.status === 'used') return { loaded: parsed.loaded, status: 'used', file: null, note: null };
    ({ status, why } = parsed);
  } else if (reader.diagnostics.length > 0) {
    // There, but not readable as a file (a directory, a FIFO, too large, EACCES).
    status = 'damaged';
    why = reader.diagnostics.map((d) => d.message).join('; ');
  }
  const loaded = await compile();
  const notes: string[] = [];
  const body = renderRulesCache(key, loaded);
  if (status !== 'absent') notes.push(`the compiled-rules cache ${shown} is ignored (${why}): the rule files were read instead, and --write replaces it`);
  if (body === null) notes.push(`the compiled rules are not cached in ${shown}: these rules hold values JSON cannot keep exactly`);
  return { loaded, status, file: body === null ? null : { path: RULES_CACHE_PATH, content: body }, note: notes.length > 0 ? notes.join('; ') : null };
}
