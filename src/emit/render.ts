// Every file the plan turns into, with its absolute path inside the target root, sorted by path: the input of
// writeFiles() and of the --dry-run diff. Which files depends on the target: GRUB legacy's menu.lst or GRUB 2's
// grub.cfg plus its update-grub settings (plan.grub.flavor), xend's or xl's settings (plan.target.toolstack), and
// the HVM guest template only where HVM guests can run.
import type { Plan } from '../plan/types.ts';
import { renderMenuLst } from './grub-legacy.ts';
import { renderGrubCfg, renderGrubDefaults, renderGrubDefaultsFirst } from './grub2.ts';
import { renderGuestConfig } from './guest.ts';
import { renderModprobeConf, renderModulesLoad } from './modules.ts';
import { NETWORK_FILE, renderNetwork } from './network.ts';
import { renderSysconfig, SYSCONFIG_DIR } from './sysconfig.ts';
import { renderXendConfig, renderXlConf } from './toolstack.ts';

export interface RenderedFile {
  /** Absolute path inside the target root: "/etc/sysconfig/xen". */
  path: string;
  content: string;
  /** Permission bits; absent: writeFiles() keeps the replaced file's, or 0644. */
  mode?: number;
}

export const PATHS = {
  menuLst: '/boot/grub/menu.lst',
  grubCfg: '/boot/grub/grub.cfg',
  // Not xen.cfg: Debian's Xen packages ship that name as a conffile (replacing it makes dpkg ask on every upgrade).
  // grub-mkconfig sources grub.d/*.cfg in name order: the first comes before xen.cfg (it must say
  // XEN_OVERRIDE_GRUB_DEFAULT before xen.cfg reads it), the second after it, so that its settings win.
  grubDefaultsFirst: '/etc/default/grub.d/00-xenoppix-autoconfig.cfg',
  grubDefaults: '/etc/default/grub.d/xenoppix-autoconfig.cfg',
  modulesLoad: '/etc/modules-load.d/autoconfig.conf',
  modprobe: '/etc/modprobe.d/autoconfig.conf',
  xendConfig: '/etc/xen/xend-config.sxp',
  xlConf: '/etc/xen/xl.conf',
  guest: '/etc/xen/autoconfig-hvm.cfg',
  // xl targets: the bridge xenbr0 that xend's network-bridge made before (src/emit/network.ts).
  network: NETWORK_FILE,
} as const;

export function render(plan: Plan): RenderedFile[] {
  const files: RenderedFile[] = [];
  if (plan.grub.flavor === 'legacy') {
    files.push({ path: PATHS.menuLst, content: renderMenuLst(plan) });
  } else {
    files.push({ path: PATHS.grubCfg, content: renderGrubCfg(plan) });
    files.push({ path: PATHS.grubDefaultsFirst, content: renderGrubDefaultsFirst() });
    files.push({ path: PATHS.grubDefaults, content: renderGrubDefaults(plan) });
  }
  files.push({ path: PATHS.modulesLoad, content: renderModulesLoad(plan) });
  files.push({ path: PATHS.modprobe, content: renderModprobeConf(plan) });
  for (const { name, content } of renderSysconfig(plan)) files.push({ path: `${SYSCONFIG_DIR}/${name}`, content });
  if (plan.target.toolstack === 'xend') files.push({ path: PATHS.xendConfig, content: renderXendConfig(plan) });
  else files.push({ path: PATHS.xlConf, content: renderXlConf(plan) });
  if (plan.target.toolstack === 'xl') files.push({ path: PATHS.network, content: renderNetwork(plan) });
  if (plan.hvm.available) files.push({ path: PATHS.guest, content: renderGuestConfig(plan) });
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
