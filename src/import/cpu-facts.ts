// CPU 0's identity and flags stated by logs that print no /proc/cpuinfo of their own (kernel log lines, inxi),
// merged into the tree's one /proc/cpuinfo. Between such logs the better-ranked one wins each fact and a
// disagreement is noted. Beside a /proc/cpuinfo from a log that prints one (cpuinfo, lscpu, hwinfo), that file wins:
// a fact only fills a field its first block lacks, and a flag statement is added only where it has no full flags
// line (a partial statement, an lscpu's, is completed). Without one, the facts make a /proc/cpuinfo of one block
// without a "processor" line, so that the probe reads the identity and the partial flags but counts no CPU.
import { PARTIAL_FLAGS } from '../probe/cpu.ts';
import { addOnce } from './_model.ts';
import type { CpuFacts, ImportSource, Stated } from './_model.ts';
import type { RankedSource } from './tree.ts';

type Source = RankedSource & { source: ImportSource };
type Field = Exclude<keyof CpuFacts, 'flags'>;

/** Each field with the /proc/cpuinfo key show_cpuinfo() prints it under (arch/x86/kernel/cpu/proc.c). */
const FIELDS: Array<[Field, string]> = [
  ['vendor', 'vendor_id'],
  ['family', 'cpu family'],
  ['model', 'model'],
  ['modelName', 'model name'],
  ['stepping', 'stepping'],
];
const TABS: Record<string, string> = { vendor_id: '\t', 'cpu family': '\t', model: '\t\t', 'model name': '\t', stepping: '\t' };

interface Taken<T> extends Stated<T> {
  file: string;
}

/**
 * Merges the CPU facts of `sources` into files['proc/cpuinfo'] (created when absent). `cpuinfoFrom` names the log
 * the existing file came from, for the notes.
 */
export function mergeCpuFacts(
  sources: Source[],
  files: Record<string, string>,
  cpuinfoFrom: string | undefined,
  notes: string[],
): void {
  const ranked = sources.filter((s) => s.parsed.cpu !== undefined).sort((a, b) => a.rank - b.rank);
  if (ranked.length === 0) return;
  const fields: Partial<Record<Field, Taken<string | number>>> = {};
  const flags = new Map<string, Taken<boolean>>();
  const shown = (v: string | number | boolean) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  for (const s of ranked) {
    const cpu = s.parsed.cpu!;
    for (const [field, key] of FIELDS) {
      const fact = cpu[field] as Stated<string | number> | undefined;
      if (fact === undefined) continue;
      const kept = fields[field];
      if (kept === undefined) fields[field] = { ...fact, file: s.file };
      else if (kept.value !== fact.value) {
        const other = `${kept.file}:${kept.line} (${shown(kept.value)})`;
        notes.push(`${s.file}:${fact.line}: ${key} ${shown(fact.value)} differs from ${other}; not used`);
      }
    }
    for (const [flag, fact] of Object.entries(cpu.flags)) {
      const kept = flags.get(flag);
      if (kept === undefined) flags.set(flag, { ...fact, file: s.file });
      else if (kept.value !== fact.value) {
        const says = (v: boolean) => (v ? 'in the flags' : 'not in the flags');
        const other = `${kept.file}:${kept.line} says ${says(kept.value)}`;
        notes.push(`${s.file}:${fact.line}: ${flag} ${says(fact.value)}, but ${other}; the latter taken`);
      }
    }
  }

  const used = (file: string, what: string) => {
    const s = ranked.find((r) => r.file === file);
    if (s !== undefined) addOnce(s.source.used, what);
  };
  const existing = files['proc/cpuinfo'];
  const blocks = existing === undefined ? [[]] : existing.replace(/\n+$/, '').split(/\n\n+/).map((b) => b.split('\n'));
  const first = blocks[0]!;
  const value = (key: string) => {
    const line = first.find((l) => new RegExp(`^${key}\\s*:`).test(l));
    return line === undefined ? undefined : line.slice(line.indexOf(':') + 1).trim();
  };
  const added: string[] = [];
  for (const [field, key] of FIELDS) {
    const fact = fields[field];
    if (fact === undefined) continue;
    const have = value(key);
    if (have === undefined) {
      // After the processor line (or what precedes it), in show_cpuinfo()'s order.
      const at = first.findIndex((l) => !/^(?:processor|vendor_id|cpu family|model|model name)\s*:/.test(l));
      first.splice(at === -1 ? first.length : at, 0, `${key}${TABS[key]}: ${fact.value}`);
      used(fact.file, 'cpu.identity');
      added.push(`${key} from ${fact.file}:${fact.line}`);
    } else if (have !== String(fact.value)) {
      notes.push(`/proc/cpuinfo: ${key} taken from ${cpuinfoFrom}; ${fact.file}:${fact.line} says ${shown(fact.value)}`);
    }
  }

  if (flags.size > 0) {
    const full = blocks.flatMap((b) => b).find((l) => /^flags\s*:/.test(l));
    if (full !== undefined) {
      const words = full.slice(full.indexOf(':') + 1).trim().split(/\s+/);
      for (const [flag, fact] of flags) {
        if (words.includes(flag) !== fact.value) {
          notes.push(`${fact.file}:${fact.line}: ${flag} ${fact.value ? 'in' : 'not in'} the flags, but the flags line of ${cpuinfoFrom} wins`);
        }
      }
    } else {
      const at = first.findIndex((l) => l.startsWith(`${PARTIAL_FLAGS}\t:`) || l.startsWith(`${PARTIAL_FLAGS}:`));
      const before = at === -1 ? [] : first[at]!.slice(first[at]!.indexOf(':') + 1).trim().split(/\s+/).filter(Boolean);
      const statements = new Map(before.map((w) => [w.slice(1), w[0] === '+'] as [string, boolean]));
      for (const [flag, fact] of flags) {
        const had = statements.get(flag);
        if (had === undefined) {
          statements.set(flag, fact.value);
          used(fact.file, 'cpu.flags.partial');
          added.push(`${fact.value ? '+' : '-'}${flag} from ${fact.file}:${fact.line}`);
        } else if (had !== fact.value) {
          notes.push(`${fact.file}:${fact.line}: ${flag} ${fact.value ? 'in' : 'not in'} the flags, but ${cpuinfoFrom} says otherwise and wins`);
        }
      }
      const line = `${PARTIAL_FLAGS}\t: ${[...statements].map(([f, v]) => `${v ? '+' : '-'}${f}`).join(' ')}`;
      if (at === -1) first.push(line);
      else first[at] = line;
    }
  }
  if (added.length === 0) return;
  files['proc/cpuinfo'] = blocks.map((b) => b.join('\n')).join('\n\n') + '\n\n';
  const where = existing === undefined ? 'synthesized, CPU 0 only (no processor line: the number of CPUs is unknown)' : `completed (${cpuinfoFrom})`;
  notes.push(`/proc/cpuinfo: ${where}: ${added.join(', ')}`);
}
