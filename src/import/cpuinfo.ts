// The CPU: a captured /proc/cpuinfo is taken as it is (only LF line ends, and lines that are not "key : value" -
// a shell prompt pasted above it - dropped). `lscpu` output is turned into the cpuinfo the x86 kernel would print
// for the fields lscpu repeats (arch/x86/kernel/cpu/proc.c show_cpuinfo(): processor, vendor_id, cpu family, model,
// model name, stepping, flags), one block per online CPU, and the topology lines of show_cpuinfo_core() (physical
// id, siblings, core id, cpu cores) from lscpu's Socket(s), Core(s) per socket and Thread(s) per core when their
// product is the number of CPUs. lscpu gives only these counts, not which logical CPU sits on which core: the CPUs
// are numbered socket by socket, core by core, the threads of a core together, and the manifest says so.
//
// Older lscpu versions print no Flags line, but two lines they derive from the flags of /proc/cpuinfo (util-linux
// sys-utils/lscpu.c, read_basicinfo() and print_summary(), e.g. commit 0002704ebe998d70af87d4385cc243baae7b2059;
// the same in lscpu-arch.c/lscpu-cputype.c today): "CPU op-mode(s)" gets "64-bit" only when " lm " is in the flags
// (on x86 the mode starts as 32-bit; the first lscpu's MODE_LONG likewise), and "Virtualization:" is printed only
// when " svm " (AMD-V) or else " vmx " (VT-x) is in them. lscpu reads the first "flags" line, CPU 0's, and an x86
// kernel always prints one (arch/x86/kernel/cpu/proc.c). So such an lscpu tells lm, vmx and svm, and nothing about
// any other flag: the synthesized /proc/cpuinfo then carries no flags line but, in CPU 0's block, the probe's
// partial statement (PARTIAL_FLAGS in src/probe/cpu.ts), e.g. "flags (partial)\t: -lm -vmx -svm".
import { PARTIAL_FLAGS } from '../probe/cpu.ts';
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
  if (kept.some((l) => /^physical id\s*:/.test(l))) parsed.used.push('cpu.topology');
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
  const { topology, note } = lscpuTopology(fields, cpus.length);
  const partial = fields.has('Flags') ? null : partialFlags(fields);
  const block = (n: number, i: number) => {
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
    if (topology !== null) {
      const { cores, threads } = topology;
      out.push(`physical id\t: ${Math.floor(i / (cores * threads))}`);
      out.push(`siblings\t: ${cores * threads}`);
      out.push(`core id\t\t: ${Math.floor(i / threads) % cores}`);
      out.push(`cpu cores\t: ${cores}`);
    }
    add('flags\t\t', 'Flags');
    // lscpu read the first flags line only: the statement is about CPU 0.
    if (partial !== null && i === 0) out.push(`${PARTIAL_FLAGS}\t: ${partial.line}`);
    return out.join('\n') + '\n\n';
  };
  parsed.files['proc/cpuinfo'] = cpus.map(block).join('');
  parsed.used.push('cpu');
  if (fields.has('Flags')) parsed.used.push('cpu.flags');
  if (partial !== null) {
    parsed.used.push('cpu.flags.partial');
    parsed.notes.push(`${file}: no Flags line; ${partial.why} (lscpu derives both from the flags), other flags unknown`);
  }
  if (topology !== null) parsed.used.push('cpu.topology');
  parsed.notes.push(`${file}: /proc/cpuinfo synthesized from lscpu (${cpus.length} CPUs${note})`);
  return parsed;
}

/**
 * What an x86 lscpu without a Flags line says about the flags: lm from "CPU op-mode(s)" (a "64-bit" in it, or not),
 * vmx and svm from "Virtualization:" (VT-x: vmx and no svm, as lscpu tests svm first; AMD-V: svm; no such line:
 * neither). null when it has no op-mode line either (then nothing is known: it may not have read the flags at all).
 */
function partialFlags(fields: Map<string, string>): { line: string; why: string } | null {
  const mode = fields.get('CPU op-mode(s)');
  if (mode === undefined) return null;
  const words: string[] = [];
  const why: string[] = [];
  const lm = /\b64-bit\b/.test(mode);
  words.push(lm ? '+lm' : '-lm');
  why.push(`"CPU op-mode(s): ${mode}": ${lm ? 'lm' : 'no lm'}`);
  const virt = fields.get('Virtualization');
  if (virt === 'VT-x') words.push('+vmx', '-svm');
  else if (virt === 'AMD-V') words.push('+svm');
  else if (virt === undefined) words.push('-vmx', '-svm');
  if (virt === undefined) why.push('no Virtualization line: neither vmx nor svm');
  else if (virt === 'VT-x' || virt === 'AMD-V') why.push(`"Virtualization: ${virt}": ${virt === 'VT-x' ? 'vmx, no svm' : 'svm'}`);
  else why.push(`"Virtualization: ${virt}" not understood: vmx and svm unknown`);
  return { line: words.join(' '), why: why.join(', ') };
}

/**
 * Sockets, cores per socket and threads per core, when lscpu gives all three and they multiply to the CPUs listed
 * (not so with CPUs offline, or hybrid CPUs whose cores differ in threads); otherwise null and why.
 */
function lscpuTopology(
  fields: Map<string, string>,
  cpus: number,
): { topology: { sockets: number; cores: number; threads: number } | null; note: string } {
  const count = (field: string) => {
    const value = fields.get(field);
    return value !== undefined && /^[1-9]\d{0,5}$/.test(value) ? Number(value) : null;
  };
  const [sockets, cores, threads] = [count('Socket(s)'), count('Core(s) per socket'), count('Thread(s) per core')];
  if (sockets === null || cores === null || threads === null) {
    return { topology: null, note: '; no topology fields: no Socket(s), Core(s) per socket and Thread(s) per core' };
  }
  const shape = `${sockets} sockets x ${cores} cores x ${threads} threads`;
  if (sockets * cores * threads !== cpus) return { topology: null, note: `; no topology fields: ${shape} differ` };
  const numbering = 'which CPU is which core of which package is synthesized, only the counts come from the log';
  return { topology: { sockets, cores, threads }, note: ` = ${shape}; ${numbering}` };
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
