// Small kernel facts from their own files: /proc/meminfo (only MemTotal is a property of the machine; the rest
// changes every second), `uname -a` / `uname -r` (the release = /proc/sys/kernel/osrelease), `uname -m` (the
// machine = /proc/sys/kernel/arch), and captured /proc/cmdline or /proc/sys/kernel/osrelease files named by the
// "__" path convention.
import { emptyParsed, toLines } from './_model.ts';
import type { Parsed } from './_model.ts';

const MEMTOTAL_RE = /^MemTotal:[ \t]+\d+ kB$/;
const UNAME_A_RE = /^Linux \S+ (\d+\.\d+\S*) #\S+/;
const RELEASE_RE = /^\d+\.\d+[\w.+~-]*$/;
// The utsname machine strings of the architectures Linux runs on (arch/*/Makefile UTS_MACHINE and uname -m).
export const MACHINE_RE = new RegExp(
  `^(?:${[
    ...['i[3-6]86', 'x86_64', 'aarch64(?:_be)?', 'arm(?:v\\d+[a-z]*)?', 'ppc(?:64)?(?:le)?', 's390x?'],
    ...['riscv(?:32|64)', 'mips(?:64)?(?:el)?', 'loongarch64', 'sparc(?:64)?', 'ia64', 'alpha', 'parisc(?:64)?'],
    ...['m68k', 'sh\\d*'],
  ].join('|')})$`,
);

export function detectMeminfo(lines: string[]): boolean {
  return lines.slice(0, 5).some((l) => MEMTOTAL_RE.test(l)) && lines.some((l) => /^MemFree:/.test(l));
}

export function parseMeminfo(text: string): Parsed {
  const parsed = emptyParsed('/proc/meminfo');
  const line = toLines(text).find((l) => MEMTOTAL_RE.test(l));
  if (line !== undefined) {
    parsed.files['proc/meminfo'] = `${line}\n`;
    parsed.used.push('memory');
  }
  return parsed;
}

/** `uname -a` (one line), `uname -r` (just the release) or `uname -m` (just the machine). */
export function detectUname(lines: string[]): boolean {
  const nonEmpty = lines.filter((l) => l.trim() !== '');
  if (nonEmpty.length !== 1) return false;
  const line = nonEmpty[0]!;
  return UNAME_A_RE.test(line) || RELEASE_RE.test(line.trim()) || MACHINE_RE.test(line.trim());
}

export function parseUname(text: string): Parsed {
  const line = toLines(text).find((l) => l.trim() !== '')!;
  if (MACHINE_RE.test(line.trim())) {
    const parsed = emptyParsed('uname -m');
    parsed.files['proc/sys/kernel/arch'] = `${line.trim()}\n`;
    parsed.used.push('cpu.arch');
    return parsed;
  }
  // uname -a: the machine field cannot be told apart from -p/-i, which GNU uname leaves out when unknown.
  const m = UNAME_A_RE.exec(line);
  const parsed = emptyParsed(m ? 'uname -a' : 'uname -r');
  parsed.files['proc/sys/kernel/osrelease'] = `${m ? m[1] : line.trim()}\n`;
  parsed.used.push('kernel.osrelease');
  return parsed;
}

export const CAPTURED_KERNEL_PATHS = ['proc/cmdline', 'proc/sys/kernel/osrelease'];

export function parseKernelCaptured(path: string, content: string): Parsed {
  const parsed = emptyParsed(`captured /${path}`);
  const text = content.replace(/\r\n?/g, '\n');
  parsed.files[path] = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  parsed.used.push(path === 'proc/cmdline' ? 'kernel.cmdline' : 'kernel.osrelease');
  return parsed;
}
