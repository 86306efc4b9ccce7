// Test support for the importer: the real logs in test/import/data (see data/SOURCES.md), imported from disk or,
// for variants derived at run time (CRLF, truncated, mixed directories), from a memfs log directory.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importLogs } from '../../src/import/import.ts';
import type { ImportResult } from '../../src/import/import.ts';
import { writeTree } from '../../src/import/tree.ts';
import { probe } from '../../src/probe/probe.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixturesDir, volume } from '../_support/memfs.ts';

export const dataDir = join(dirname(fileURLToPath(import.meta.url)), 'data');
/** The shared hardware corpus beside the project (CI has it too); files there are read in place, never copied. */
export const corpusDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'corpus');
export const NOW = new Date('2026-01-02T03:04:05.000Z');

export function dataFile(machine: string, file: string): string {
  return readFileSync(join(dataDir, machine, file), 'utf8');
}

export function corpusFile(machine: string, file: string): string {
  const path = join(corpusDir, machine, file);
  if (!existsSync(path)) throw new Error(`shared corpus file missing: ${path}`);
  return readFileSync(path, 'utf8');
}

/** A real log of a fixture machine (fixtures/<name>/sources/, licensed copies; see fixtures/README.md). */
export function fixtureSource(name: string, file: string): string {
  return readFileSync(join(fixturesDir, name, 'sources', file), 'utf8');
}

/** Imports a fixture machine's logs from disk. */
export function importFixture(name: string): Promise<ImportResult> {
  return importLogs(join(fixturesDir, name, 'sources'), { now: NOW });
}

/** What the probes report for an imported tree: written to a memfs volume, then probed there. */
export async function probeImport(result: ImportResult): Promise<HardwareProfile> {
  const { fs } = volume({ files: { out: null } });
  await writeTree(result.tree, '/out', fs);
  return probe({ fs, root: '/out', deviceTimeoutMs: 100 });
}

export function importMachine(machine: string, sub = ''): Promise<ImportResult> {
  return importLogs(join(dataDir, machine, sub), { now: NOW });
}

/** Imports a log directory made of the given files (name -> content) on a memfs volume. */
export function importFiles(files: Record<string, string | Uint8Array>): Promise<ImportResult> {
  const entries: Array<[string, string | Uint8Array | null]> = Object.entries(files).map(([name, c]) => [
    `logs/${name}`,
    c,
  ]);
  const { fs } = volume({ files: Object.fromEntries(entries.length > 0 ? entries : [['logs', null]]) });
  return importLogs('/logs', { fs, now: NOW });
}

/** The files of one PCI device directory, without their trailing newline, plus its driver. */
export function pciDevice(result: ImportResult, slot: string): Record<string, string> {
  const dir = `sys/devices/pci${slot.slice(0, slot.indexOf(':'))}:00/${slot}/`;
  const out: Record<string, string> = {};
  for (const [path, content] of Object.entries(result.tree.files)) {
    if (path.startsWith(dir)) out[path.slice(dir.length)] = content.replace(/\n$/, '');
  }
  const driver = result.tree.links[`${dir}driver`];
  if (driver !== undefined) out.driver = driver.slice(driver.lastIndexOf('/') + 1);
  return out;
}

/** The files of one USB device or interface directory (path below sys/devices/usb/), without trailing newlines. */
export function usbEntry(result: ImportResult, path: string): Record<string, string> {
  const dir = `sys/devices/usb/${path}/`;
  const out: Record<string, string> = {};
  for (const [file, content] of Object.entries(result.tree.files)) {
    const rest = file.startsWith(dir) ? file.slice(dir.length) : null;
    if (rest !== null && !rest.includes('/')) out[rest] = content.replace(/\n$/, '');
  }
  const driver = result.tree.links[`${dir}driver`];
  if (driver !== undefined) out.driver = driver.slice(driver.lastIndexOf('/') + 1);
  return out;
}

export function pciSlots(result: ImportResult): string[] {
  return Object.keys(result.tree.links)
    .filter((l) => l.startsWith('sys/bus/pci/devices/'))
    .map((l) => l.slice('sys/bus/pci/devices/'.length))
    .sort();
}

export function usbNames(result: ImportResult): string[] {
  return Object.keys(result.tree.links)
    .filter((l) => l.startsWith('sys/bus/usb/devices/'))
    .map((l) => l.slice('sys/bus/usb/devices/'.length))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}
