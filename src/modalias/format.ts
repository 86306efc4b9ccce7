// `autoconfig drivers` as text, in the shape of `lspci -k`: one header line per device, then tab-indented
// "Kernel driver in use" / "Kernel modules" lines, plus what would load and why. Pure: report in, text out.
import type { ModaliasIssue } from './alias-file.ts';
import type { DriversReport } from './report.ts';
import type { DriverMatch } from './resolve.ts';

const SOURCES = {
  target: 'the target system',
  option: '--kernel',
  reference: 'shipped reference data, not the target system',
} as const;

export interface FormatDriversOptions {
  /**
   * The device's name for its header line, as lspci -nn prints it after the slot (the CLI's come from pci.ids and
   * usb.ids); the modalias then gets a line of its own. null, or no function: the header is the id and modalias.
   */
  label?: (device: DriverMatch) => string | null;
  /**
   * Buses whose binding the tree does not tell (unknownBindings(): an import of lspci without -k, lsusb without -t):
   * a device there without a bound driver shows "Kernel driver in use: unknown", not nothing.
   */
  unknownBindings?: readonly string[];
}

export function formatDriversReport(report: DriversReport, options: FormatDriversOptions = {}): string {
  const { kernel } = report;
  const lines = [`Kernel ${kernel.release} modules: ${SOURCES[kernel.source]} (${kernel.dir})`];
  const config = report.configFiles.filter((f) => !f.endsWith('/modules.softdep'));
  lines.push(`modprobe.d: ${config.length === 0 ? 'none' : config.join(', ')}`);
  for (const d of report.devices) {
    const label = options.label?.(d) ?? null;
    if (label === null) lines.push('', `${d.bus} ${d.id}: ${d.modalias}`);
    else lines.push('', `${d.bus} ${d.id} ${label}`, ...(d.modalias ? [`\tModalias: ${d.modalias}`] : []));
    if (d.bound !== null) lines.push(`\tKernel driver in use: ${d.bound}`);
    else if (options.unknownBindings?.includes(d.bus)) lines.push('\tKernel driver in use: unknown (the logs do not say)');
    if (d.candidates.length > 0) {
      const marked = d.candidates.map((m) => (d.builtin.includes(m) ? `${m} (built-in)` : m));
      lines.push(`\tKernel modules: ${marked.join(', ')}`);
    }
    if (d.blacklisted.length > 0) lines.push(`\tBlacklisted: ${d.blacklisted.join(', ')}`);
    lines.push(`\tWould load: ${d.chosen ?? 'nothing'} (${d.reason})`);
  }
  if (report.issues.length > 0) lines.push('', ...report.issues.map(formatIssue));
  return lines.join('\n') + '\n';
}

export function formatIssue(issue: ModaliasIssue): string {
  return `warning: ${issue.file}${issue.line === null ? '' : `:${issue.line}`}: ${issue.message}`;
}
