// Xen's own reports: /sys/hypervisor (drivers/xen/sys-hypervisor.c) and /proc/xen/capabilities (xenfs: "control_d"
// in dom0, empty in a domU). Their values ("xen", "4", "control_d") cannot be recognized by content, so they come
// either as captured files whose name is the path with "/" written "__" (sys__hypervisor__type, the corpus
// convention) or kept as a directory tree (.../sys/hypervisor/type), or as a `grep -r . /sys/hypervisor` dump
// ("/sys/hypervisor/type:xen"). uuid, compilation/* and the other properties are not read by the probes, and the
// uuid identifies the machine: they are not taken.
import { emptyParsed, toLines } from './_model.ts';
import type { Parsed } from './_model.ts';

export const XEN_PATHS = [
  'sys/hypervisor/type',
  'sys/hypervisor/guest_type',
  'sys/hypervisor/version/major',
  'sys/hypervisor/version/minor',
  'sys/hypervisor/version/extra',
  'sys/hypervisor/properties/capabilities',
  'sys/hypervisor/properties/features',
  'proc/xen/capabilities',
];

const DUMP_RE = /^\/((?:sys\/hypervisor|proc\/xen)\/[\w/]+):(.*)$/;

/** The value a captured file holds, as the kernel prints it: sysfs attributes end with one newline. */
export function capturedValue(path: string, content: string): string {
  const text = content.replace(/\r\n?/g, '\n');
  if (path === 'proc/xen/capabilities') return text; // empty in a domU, and that emptiness is the fact
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

export function parseXenCaptured(path: string, content: string): Parsed {
  const parsed = emptyParsed(`captured /${path}`);
  parsed.files[path] = capturedValue(path, content);
  parsed.used.push('xen');
  return parsed;
}

export function detectXenDump(lines: string[]): boolean {
  const nonEmpty = lines.filter((l) => l.trim() !== '');
  return nonEmpty.length > 0 && nonEmpty.every((l) => DUMP_RE.test(l));
}

export function parseXenDump(text: string, file: string): Parsed {
  const parsed = emptyParsed('/sys/hypervisor dump');
  toLines(text).forEach((line, index) => {
    if (line.trim() === '') return;
    const m = DUMP_RE.exec(line);
    if (!m) {
      parsed.issues.push({ file, line: index + 1, message: 'not a "/sys/hypervisor/...:value" line; skipped' });
      return;
    }
    // grep prints one line per line of the file; every attribute here is a single line.
    if (XEN_PATHS.includes(m[1]!) && parsed.files[m[1]!] === undefined) parsed.files[m[1]!] = `${m[2]}\n`;
  });
  if (Object.keys(parsed.files).length > 0) parsed.used.push('xen');
  return parsed;
}
