// The record of the last `--write`/`--apply` run, /var/lib/autoconfig/last-run.json inside the target root: what a
// boot did, readable after the console has scrolled away (`/etc/init.d/autoconfig status` reads it, so does a
// person with `cat`). Unlike the configuration files it changes on every run (times), and it is written with the
// same atomic writer, so --dry-run never writes it.
//
// JSON with two-space indentation, one top-level key per line, `exitCode` and `summary` near the top: the init
// script reads `  "exitCode": N,` and `  "summary": "...",` with sed, without a JSON parser.
import type { Plan } from '../plan/types.ts';

export const RUN_RECORD_PATH = '/var/lib/autoconfig/last-run.json';
export const RUN_RECORD_FORMAT = 1;

export interface RunRecordModule {
  name: string;
  /** not-applicable: marked optional where there is no device, and it failed with ENODEV (not a failure). */
  status: 'loaded' | 'failed' | 'timeout' | 'skipped' | 'not-applicable';
  ms: number;
  detail: string;
}

/** Why a plan is not the rules' own (exit 3): the stage that failed, its message, and the file and code it names. */
export interface RunFailure {
  /** rules: a rule file's error (that rule left out); planning or rendering: the safe plan was used instead. */
  stage: 'rules' | 'planning' | 'rendering';
  reason: string;
  /** The file (a rule file with :line) the error names, or null. */
  file: string | null;
  /** The error's code (E_IO, ENOENT, a lint code ...), or null. */
  code: string | null;
}

export interface RunRecord {
  format: typeof RUN_RECORD_FORMAT;
  /** autoconfig's version. */
  version: string;
  /** ISO 8601 time the run started. */
  startedAt: string;
  /** 'write' (--write) or 'apply' (--write --apply). */
  mode: 'write' | 'apply';
  /** The run's exit code (0, 1, 3, 4, 5; README "Exit codes"). */
  exitCode: number;
  /** The one line printed at the end of the run. */
  summary: string;
  /** Wall time of each stage, ms; null for a stage that did not run. */
  durationsMs: { decide: number; render: number; write: number | null; apply: number | null; total: number };
  /** What failed: planning or rendering (the safe plan was used), a write, the modules. */
  failures: string[];
  /** The failure that made the plan the safe plan (exit 3), with its file and code; null otherwise. */
  fallback: RunFailure | null;
  /**
   * Paths inside the target. `partial` only when a write failed half-way and putting back failed too (exit 5):
   * `written` are then this run's new files, `old` those as before, `notRestored` why each new one stayed.
   */
  files: {
    written: string[];
    unchanged: string[];
    backups: string[];
    partial: { old: string[]; notRestored: { path: string; error: string }[] } | null;
  };
  /** modprobe results in load order; null without --apply. */
  modules: RunRecordModule[] | null;
  /** The total module time budget ran out. */
  modulesTimedOut: boolean;
  /**
   * How the modprobes were kept from outliving their limits: "cgroup DIR" (each in a transient cgroup v2, killed
   * whole) or "process group (no cgroup: WHY)"; null without --apply.
   */
  modulesContainment: string | null;
  /** The plan, as `--dry-run --json` prints it under `plan`. */
  plan: Plan;
}

export function renderRunRecord(record: RunRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}
