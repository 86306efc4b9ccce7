// The end of a configure() run that writes: the record /var/lib/autoconfig/last-run.json (src/emit/run-record.ts)
// written with the same atomic writer as the configuration, and the one summary line that reaches the journal.
// Neither may change the run's outcome: a record that cannot be written is logged, the exit code stays.
import { posix } from 'node:path';
import type { LoadResult } from '../apply/modprobe.ts';
import { RUN_RECORD_FORMAT, RUN_RECORD_PATH, renderRunRecord, type RunFailure, type RunRecord } from '../emit/run-record.ts';
import { writeFiles, type PartialWrite, type WriteFsLike, type WriteResult } from '../emit/write.ts';
import type { WritableFsLike } from '../fs.ts';
import type { Plan } from '../plan/types.ts';
import { VERSION } from '../version.ts';

/** Where the record is written and where a failure to write it is said (configure()'s `log`). */
export interface RecordIO {
  fs: WritableFsLike;
  log(message: string): void;
}

export interface RunFacts {
  startedAt: Date;
  apply: boolean;
  exitCode: number;
  durationsMs: RunRecord['durationsMs'];
  failures: string[];
  /** The files that were to be written (their number is the "of N" of the summary). */
  fileCount: number;
  /** A PartialWrite when the write failed half-way and could not be put back (exit 5). */
  files: WriteResult | PartialWrite;
  /** The failure that made the plan the safe plan, if one did. */
  fallback?: RunFailure | null;
  loaded: LoadResult | null;
  plan: Plan;
  target: string;
}

export function buildRunRecord(facts: RunFacts): RunRecord {
  return {
    format: RUN_RECORD_FORMAT,
    version: VERSION,
    startedAt: facts.startedAt.toISOString(),
    mode: facts.apply ? 'apply' : 'write',
    exitCode: facts.exitCode,
    summary: summaryLine(facts, true),
    durationsMs: facts.durationsMs,
    failures: facts.failures,
    fallback: facts.fallback ?? null,
    files: {
      written: facts.files.written,
      unchanged: facts.files.unchanged,
      backups: facts.files.backups,
      partial: 'old' in facts.files ? { old: facts.files.old, notRestored: facts.files.notRestored } : null,
    },
    modules:
      facts.loaded === null
        ? null
        : facts.loaded.results.map((r) => ({ name: r.name, status: r.status, ms: r.ms, detail: r.detail })),
    modulesTimedOut: facts.loaded?.timedOut ?? false,
    modulesContainment: facts.loaded?.containment ?? null,
    plan: facts.plan,
  };
}

/**
 * `autoconfig: wrote 3 of 8 files, loaded 11/12 modules (1 failed: xen-acpi-processor), exit 4, 1.2 s; record
 * /var/lib/autoconfig/last-run.json`; "no record" in place of the path when it could not be written.
 */
export function summaryLine(facts: RunFacts, recorded: boolean): string {
  const parts = [`wrote ${facts.files.written.length} of ${facts.fileCount} files`];
  if ('old' in facts.files) parts[0] += ` (partly: ${facts.files.old.length} as before)`;
  if (facts.loaded !== null) {
    const results = facts.loaded.results;
    const loaded = results.filter((r) => r.status === 'loaded').length;
    const groups = (['failed', 'timeout', 'skipped', 'not-applicable'] as const)
      .map((status) => [status, results.filter((r) => r.status === status).map((r) => r.name)] as const)
      .filter(([, names]) => names.length > 0)
      .map(([status, names]) => `${names.length} ${status === 'timeout' ? 'timed out' : status.replace('-', ' ')}: ${names.join(', ')}`);
    parts.push(`loaded ${loaded}/${results.length} modules${groups.length ? ` (${groups.join('; ')})` : ''}`);
  }
  const safe = facts.failures.length > 0 && facts.exitCode === 3 ? ' (safe plan)' : '';
  parts.push(`exit ${facts.exitCode}${safe}`, `${(facts.durationsMs.total / 1000).toFixed(1)} s`);
  const where = posix.join(facts.target, RUN_RECORD_PATH);
  return `autoconfig: ${parts.join(', ')}; ${recorded ? `record ${where}` : 'no record'}`;
}

/**
 * Writes the record inside the target with writeFiles(); true when it is there. A failure is logged (naming the
 * path) and returns false: it never throws.
 */
export async function writeRunRecord(record: RunRecord, target: string, io: RecordIO): Promise<boolean> {
  try {
    await writeFiles([{ path: RUN_RECORD_PATH, content: renderRunRecord(record), mode: 0o644 }], {
      target,
      fs: io.fs as unknown as WriteFsLike,
      // Rewritten on every run: a backup would be the first record ever, kept forever.
      backup: false,
    });
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.log(`cannot write the run record ${posix.join(target, RUN_RECORD_PATH)}: ${message}`);
    return false;
  }
}

/**
 * The end of a run: the record written (or the failure logged). Returns the record, whose `summary` is the line to
 * print (it says "no record" when it could not be written), and whether it was written.
 */
export async function recordRun(facts: RunFacts, io: RecordIO): Promise<{ record: RunRecord; recorded: boolean }> {
  const record = buildRunRecord(facts);
  const recorded = await writeRunRecord(record, facts.target, io);
  // The record itself says where it is; one that could not be written says so in its summary.
  if (!recorded) record.summary = summaryLine(facts, false);
  return { record, recorded };
}
