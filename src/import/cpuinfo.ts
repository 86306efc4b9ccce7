// The CPU: a captured /proc/cpuinfo is taken as it is (only LF line ends, and lines that are not "key : value" -
// a shell prompt pasted above it - dropped). `lscpu` output is turned into the cpuinfo the x86 kernel would print
// for the fields lscpu repeats (arch/x86/kernel/cpu/proc.c show_cpuinfo(): processor, vendor_id, cpu family, model,
// model name, stepping, flags), one block per online CPU. lscpu does not say which logical CPU sits on which core
// or package, so no topology fields are invented; the manifest records that the file was synthesized.
import { emptyParsed, toLines } from './_model.ts';
import type { Parsed } from './_model.ts';
import { MACHINE_RE } from './proc.ts';

const CPUINFO_LINE = /^[^\t:][^:]*?\s*:(?: .*)?$/;

export function detectCpuinfo(lines: string[]): boolean {
  return lines.slice(0, 200).some((l) => /^processor\s*: \d+$/.test(l));
}

/**
 * The lines of a file whose last line may have been cut: without a final line end, that line (a flags list
 * missing its tail would hide vmx or svm) is dropped with an issue.
 */
function completeLines(text: string, file: string, parsed: Parsed): string[] {
  const lines = toLines(text);
  if (text !== '' && !/[\r\n]$/.test(text)) {
    parsed.issues.push({ file, line: lines.length, message: 'last line has no line end (cut off?); skipped' });
    lines.pop();
  }
  return lines;
}

export function parseCpuinfo(text: string, file: string): Parsed {
  const parsed = emptyParsed('/proc/cpuinfo');
  const kept: string[] = [];
  let started = false;
  completeLines(text, file, parsed).forEach((line, index) => {
    if (!started && /^processor\s*: \d+$/.test(line)) started = true;
    if (started && (line === '' || CPUINFO_LINE.test(line))) {
      kept.push(line);
      return;
    }
    if (line.trim() !== '') parsed.issues.push({ file, line: index + 1, message: 'not a /proc/cpuinfo line; skipped' });
  });
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  parsed.files['proc/cpuinfo'] = kept.join('\n') + '\n\n';
  parsed.used.push('cpu');
  if (kept.some((l) => /^flags\s*:/.test(l))) parsed.used.push('cpu.flags');
  return parsed;
}

export function detectLscpu(lines: string[]): boolean {
  const head = lines.slice(0, 80);
  return head.some((l) => /^Architecture:\s+\S/.test(l)) && head.some((l) => /^CPU\(s\):\s+\d+$/.test(l));
}

const X86_ARCH = /^(i[3-6]86|x86_64|amd64)$/;

export function parseLscpu(text: string, file: string): Parsed {
  const parsed = emptyParsed('lscpu');
  const fields = new Map<string, string>();
  completeLines(text, file, parsed).forEach((line, index) => {
    if (line.trim() === '') return;
    // util-linux 2.38+ indents fields under "Vendor ID:" and sub-sections; the keys stay unique, so indent is ignored.
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m) {
      parsed.issues.push({ file, line: index + 1, message: 'not an lscpu "Field: value" line; skipped' });
      return;
    }
    if (!fields.has(m[1]!)) fields.set(m[1]!, m[2]!.trim());
  });
  const arch = fields.get('Architecture');
  // lscpu prints uname(2)'s machine, the string /proc/sys/kernel/arch holds.
  if (arch !== undefined && MACHINE_RE.test(arch)) {
    parsed.files['proc/sys/kernel/arch'] = `${arch}\n`;
    parsed.used.push('cpu.arch');
  }
  if (arch === undefined || !X86_ARCH.test(arch)) {
    const what = arch ?? 'no Architecture line';
    parsed.notes.push(`${file}: lscpu of a non-x86 machine (${what}); no /proc/cpuinfo synthesized`);
    return parsed;
  }
  const cpus = onlineCpus(fields.get('On-line CPU(s) list'), fields.get('CPU(s)'));
  if (cpus === null) {
    parsed.issues.push({ file, line: 0, message: 'lscpu gives no usable CPU count; no /proc/cpuinfo synthesized' });
    return parsed;
  }
  const block = (n: number) => {
    const out = [`processor\t: ${n}`];
    const add = (key: string, field: string, numeric = false) => {
      const value = fields.get(field);
      if (value !== undefined && (!numeric || /^\d+$/.test(value))) out.push(`${key}: ${value}`);
    };
    add('vendor_id\t', 'Vendor ID');
    add('cpu family\t', 'CPU family', true);
    add('model\t\t', 'Model', true);
    add('model name\t', 'Model name');
    add('stepping\t', 'Stepping', true);
    add('flags\t\t', 'Flags');
    return out.join('\n') + '\n\n';
  };
  parsed.files['proc/cpuinfo'] = cpus.map(block).join('');
  parsed.used.push('cpu');
  if (fields.has('Flags')) parsed.used.push('cpu.flags');
  parsed.notes.push(`${file}: /proc/cpuinfo synthesized from lscpu (${cpus.length} CPUs; no topology fields)`);
  return parsed;
}

/** CPU numbers of "0-3,8-11" (the online list, which is what /proc/cpuinfo numbers), else 0..CPU(s)-1. */
function onlineCpus(list: string | undefined, count: string | undefined): number[] | null {
  if (list !== undefined) {
    const cpus: number[] = [];
    for (const part of list.split(',')) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
      if (!m) return null;
      const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
      if (to < from || to - from > 65536) return null;
      for (let n = from; n <= to; n++) cpus.push(n);
    }
    return cpus.length > 0 ? cpus : null;
  }
  if (count === undefined || !/^\d+$/.test(count) || Number(count) < 1 || Number(count) > 65536) return null;
  return Array.from({ length: Number(count) }, (_, i) => i);
}
