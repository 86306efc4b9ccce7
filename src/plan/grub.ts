// The boot menu: which GRUB (legacy for a Xen 3.x target, GRUB 2 for 4.x; EFI or BIOS) and its entries, each
// architecture with and without Xen.
import { versionAtLeast } from '../rules/version.ts';
import type { BootOption } from '../rules/types.ts';
import { renderOptions } from './boot-options.ts';
import { factString, type Facts } from './outcome.ts';
import type { GrubEntry, Plan, TargetInfo, XenArch } from './types.ts';

export interface GrubInput {
  facts: Facts;
  /** profile.firmware.efi: null when the profile does not tell. */
  efi: boolean | null;
  target: TargetInfo;
  xenArch: XenArch;
  longMode: boolean | null;
  xenDisabled: boolean;
  /** Xen's line, the Dom0 line under Xen, and the kernel line of the entries without Xen. */
  xenOptions: readonly BootOption[];
  dom0Options: readonly BootOption[];
  nativeOptions: readonly BootOption[];
}

export interface GrubDecision {
  grub: Plan['grub'];
  notes: string[];
  warnings: string[];
}

/**
 * The variant is the rules' (grub.variant) or the firmware's; unknown firmware (an imported log that does not tell)
 * gets the BIOS GRUB, which an EFI machine boots in its legacy (CSM) mode, and the plan says it assumed so.
 */
export function decideGrub(input: GrubInput): GrubDecision {
  const { target, xenDisabled } = input;
  const ruled = factString(input.facts, 'grub.variant');
  const chosen = ruled === 'efi' || ruled === 'bios' ? ruled : null;
  const variantAssumed = chosen === null && input.efi === null;
  const variant = chosen ?? (input.efi === true ? 'efi' : 'bios');
  const flavor = target.generation === '4.x' ? 'grub2' : 'legacy';
  // GRUB on UEFI starts Xen only by multiboot2, whose header Xen has from 4.9 (src/emit/grub2.ts grubBootsXen).
  const efiCannotBootXen = flavor === 'grub2' && variant === 'efi' && target.multiboot === 'multiboot' && !xenDisabled;
  return {
    grub: {
      variant,
      variantAssumed,
      flavor,
      entries: grubEntries(target, input.xenArch, input.longMode, xenDisabled, input.xenOptions, input.dom0Options, input.nativeOptions),
    },
    notes: variantAssumed ? ['EFI or BIOS is unknown: the BIOS GRUB is written; on an EFI machine, boot it in legacy (CSM) mode.'] : [],
    warnings: efiCannotBootXen
      ? [
          `Xen ${target.version} has no multiboot2 header (Xen 4.9 and later have one), so GRUB on UEFI cannot start it: ` +
            'grub.cfg has no Xen entry and boots Linux without Xen. Boot the machine in its legacy (CSM) mode, or ' +
            'choose Xen 4.9 or later.',
        ]
      : [],
  };
}

/**
 * The live medium's layout: /boot/<arch>/{xen.gz,vmlinuz,initrd.gz}. x86 and x86_64 entries, each with and without
 * Xen; no x86_64 entries on a CPU without long mode, no x86_32 Xen on Xen 4.3 and later. The default is the Xen entry
 * of the chosen architecture, or the plain kernel when Xen cannot run here. Before Xen 4.0 the Dom0 kernel is a
 * XenLinux build (2.6.16/2.6.18), which cannot boot without the hypervisor, so the Xen entries load their own
 * /boot/<arch>/{vmlinuz-xen,initrd-xen.gz} (the Xenoppix CD had a 2.6.16 Xen kernel beside KNOPPIX's 2.6.19,
 * knoppix.md §7.1); from 4.0 one pvops kernel boots both ways.
 */
export function grubEntries(
  target: TargetInfo,
  xenArch: XenArch,
  longMode: boolean | null,
  xenDisabled: boolean,
  xenOptions: readonly BootOption[],
  dom0Options: readonly BootOption[],
  nativeOptions: readonly BootOption[],
): GrubEntry[] {
  const arches: XenArch[] = longMode === false ? ['x86_32'] : ['x86_64', 'x86_32'];
  // The 32-bit hypervisor was removed after Xen 4.2: no x86_32 Xen entry for a newer target.
  const xen32 = !versionAtLeast(target.version, '4.3');
  const xenLinux = target.generation !== '4.x';
  const entries: GrubEntry[] = [];
  for (const arch of arches) {
    for (const xen of arch === 'x86_32' && !xen32 ? [false] : [true, false]) {
      entries.push({
        title: xen ? `Xenoppix (Xen ${target.version}, ${arch})` : `Xenoppix (${arch}, without Xen)`,
        xen,
        arch,
        hypervisor: xen ? `/boot/${arch}/xen.gz` : null,
        kernel: xen && xenLinux ? `/boot/${arch}/vmlinuz-xen` : `/boot/${arch}/vmlinuz`,
        initrd: xen && xenLinux ? `/boot/${arch}/initrd-xen.gz` : `/boot/${arch}/initrd.gz`,
        xenOptions: xen ? renderOptions(xenOptions) : '',
        kernelOptions: renderOptions(xen ? dom0Options : nativeOptions),
        default: arch === (xenDisabled ? arches[0] : xenArch) && xen === !xenDisabled,
      });
    }
  }
  return entries;
}
