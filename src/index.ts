// The public API: re-exports only.
export {
  configure,
  CONFIGURE_EXIT,
  type ConfigureOptions,
  type ConfigureResult,
  type ConfigureExitCode,
  type ConfiguredFile,
  type FileState,
} from './configure/configure.ts';
export { unifiedDiff } from './emit/diff.ts';
export { probe, createReader, probeWith, type ProbeOptions } from './probe/probe.ts';
export { snapshot, MANIFEST_NAME, SNAPSHOT_ALLOWLIST, type SnapshotOptions, type SnapshotManifest } from './snapshot/snapshot.ts';
export { importLogs } from './import/import.ts';
export { PciNames, parsePciIds } from './ids/pci-ids.ts';
export { UsbNames, parseUsbIds } from './ids/usb-ids.ts';
export { AutoconfigError, isAutoconfigError, type ErrorCode } from './errors.ts';
export { nodeFsPromises, type FsLike, type WritableFsLike, type FileHandleLike, type StatsLike } from './fs.ts';
export {
  driversReport,
  formatDriversReport,
  loadKernelData,
  loadModprobeConfig,
  lookupModules,
  resolveDrivers,
  fnmatch,
  type DriversReport,
  type DriverMatch,
  type KernelData,
  type ModprobeConfig,
} from './modalias/index.ts';
export { evaluateRules, type EvaluateInput } from './rules/evaluate.ts';
export { explainRule, ruleIds, UnknownRuleError, type RuleTrace, type FailedCondition } from './rules/why.ts';
export { loadRules, loadRuleTexts, type LoadedRules } from './rules/load.ts';
export { loadShippedRules, compileRules } from './rules/compile.ts';
export { formatRuleIssue } from './rules/shared.ts';
export { parseCheatcodes, cheatcodeActions } from './rules/cheatcodes.ts';
export type * from './rules/types.ts';
export { detectTargetXen, type TargetXen } from './plan/target.ts';
export { decide, planDecided, type DecideOptions, type Decided } from './plan/decide.ts';
export { plan, safePlan, targetInfo, type PlanInput } from './plan/plan.ts';
export type { Plan, GrubEntry, TargetInfo, PlanDevice } from './plan/types.ts';
export { render, type RenderedFile } from './emit/render.ts';
export {
  writeFiles,
  removeFiles,
  readEntry,
  WriteFilesError,
  type PartialWrite,
  type WriteResult,
  type RemoveResult,
  type EntryToWrite,
  type FileToWrite,
  type SymlinkToWrite,
} from './emit/write.ts';
export { acquireLock, LOCK_PATH, type LockHolder, type LockOptions, type TargetLock } from './emit/lock.ts';
export { renderBootFiles, BOOT_PATHS, type BootFile, type BootFilesOptions } from './emit/boot.ts';
export { RUN_RECORD_PATH, type RunFailure, type RunRecord } from './emit/run-record.ts';
export { shellQuote, formatShellVars } from './emit/shell.ts';
export { loadModules, type LoadResult, type LoadProgress } from './apply/modprobe.ts';
export { main, type MainOptions } from './cli/main.ts';
export { formatProfile, type Names } from './cli/format-profile.ts';
export { machineName, cpuModelName } from './cli/_display.ts';
export type * from './types.ts';
export { VERSION } from './version.ts';
