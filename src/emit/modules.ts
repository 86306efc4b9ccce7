// The Dom0's module lists. /etc/modules-load.d/autoconfig.conf names the modules to load at boot, one per line in
// the plan's order (Xen's backends first), as systemd-modules-load reads it. /etc/modprobe.d/autoconfig.conf holds
// the `blacklist` lines (kmod then never loads the module for a device's alias; an explicit modprobe still can), the
// `options` lines of the modules that take options, and the `softdep` lines (passthrough=: the PCI backend before
// the drivers of the devices it hides). Each line follows a comment that says which rule or match put it there; `#`
// starts a comment in both formats.
import { AutoconfigError } from '../errors.ts';
import { moduleOptionsProblem } from '../rules/values.ts';
import type { Plan } from '../plan/types.ts';
import { commentHeader } from './header.ts';

// Module names as kmod writes them: letters, digits, '_' and '-' (the same module either way).
const MODULE_NAME = /^[A-Za-z0-9_-]+$/;

function moduleName(name: string): string {
  if (!MODULE_NAME.test(name)) {
    throw new AutoconfigError('E_PARSE', `module name ${JSON.stringify(name)}: only letters, digits, '_' and '-'`, {
      path: name,
    });
  }
  return name;
}

/** `# ` lines; a reason with line breaks stays inside the comment. */
function comment(text: string): string[] {
  return text.split(/\r\n|\n|\r/).map((line) => (line === '' ? '#' : `# ${line}`));
}

export function renderModulesLoad(plan: Plan): string {
  const lines: string[] = [];
  for (const module of plan.dom0.modules) lines.push(...comment(module.reason), moduleName(module.name));
  const header = commentHeader('Kernel modules for Dom0, loaded at boot in this order (systemd-modules-load).');
  return lines.length === 0 ? `${header}# (none)\n` : `${header}${lines.join('\n')}\n`;
}

export function renderModprobeConf(plan: Plan): string {
  const lines: string[] = [];
  for (const entry of plan.dom0.blacklist) lines.push(...comment(entry.reason), `blacklist ${moduleName(entry.name)}`);
  for (const module of plan.dom0.modules) {
    if (module.options === null || module.options.trim() === '') continue;
    // One line per command: a line break in the options would start another (or a bad) command.
    const problem = moduleOptionsProblem(module.options);
    if (problem !== null) {
      throw new AutoconfigError('E_PARSE', `options for module ${module.name}: ${problem}`, { path: module.name });
    }
    lines.push(...comment(module.reason), `options ${moduleName(module.name)} ${module.options.trim()}`);
  }
  for (const dep of plan.dom0.softdeps) {
    if (dep.pre.length === 0) continue;
    lines.push(...comment(dep.reason), `softdep ${moduleName(dep.module)} pre: ${dep.pre.map(moduleName).join(' ')}`);
  }
  const header = commentHeader('modprobe.d: modules kept from loading for a device, module options and load order.');
  return lines.length === 0 ? `${header}# (none)\n` : `${header}${lines.join('\n')}\n`;
}
