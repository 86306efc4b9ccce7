// Driver matching (issue #3): kmod-exact modalias lookup against a real kernel's module data.
export { fnmatch, normalizeAlias } from './glob.ts';
export type { ModaliasIssue } from './alias-file.ts';
export { parseBuiltinModinfo, parseModulesAlias } from './alias-file.ts';
export type { AliasIndex, AliasSink } from './index-build.ts';
export { AliasIndexBuilder, buildAliasIndex } from './index-build.ts';
export type { KernelData, KernelSource, KernelTable, LoadKernelOptions, ReferenceKernel } from './kernel-data.ts';
export { loadKernelData, referenceKernels } from './kernel-data.ts';
export type { IndexValue } from './kmod-index.ts';
export { KmodIndex, KmodIndexError } from './kmod-index.ts';
export type { ConfigFile, ModprobeConfig, ModuleConfig } from './modprobe-d.ts';
export { loadModprobeConfig, moduleConfig, parseModprobeConfig, MODPROBE_DIRS } from './modprobe-d.ts';
export type { DriverContext, DriverDevice, DriverMatch, Lookup, LookupSource } from './resolve.ts';
export { devicesFromProfile, lookupModules, resolveDevice, resolveDrivers } from './resolve.ts';
export type { DriverContextOptions, DriversReport } from './report.ts';
export { driversReport, loadDriverContext } from './report.ts';
export { formatDriversReport, formatIssue } from './format.ts';
