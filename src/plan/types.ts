// The plan: one object, plain data, that every emitted file is rendered from (src/emit). Built by plan() from the
// hardware profile, the driver matches, the target Xen and the rules' outcome; it carries every decision so that
// the report and `explain` can say why.
import type { DriverMatch } from '../modalias/index.ts';
import type { BootOption, Decision, FactValue, ModuleOptional } from '../rules/types.ts';
import type { SerialConsoleSpec } from '../rules/cheatcodes.ts';
import type { TargetXen } from './target.ts';

export type XenArch = 'x86_64' | 'x86_32';

/** Which generation of Xen tooling the target has: decides syntax, module names and file formats. */
export interface TargetInfo extends TargetXen {
  /** "3.0" for 3.0.x (xend, GRUB legacy, netbk/blkbk), "3.x" for 3.1-3.4 (xend), "4.x" (xl, GRUB 2). */
  generation: '3.0' | '3.x' | '4.x';
  toolstack: 'xend' | 'xl';
  /** 3.0.2 knows plain sizes only (KiB without suffix), min:/max: come with 3.0.4. */
  dom0MemSyntax: 'plain' | 'minmax';
  /** Loader form of the GRUB 2 entry: multiboot2/module2 from Xen 4.9 on (GRUB's 20_linux_xen), else multiboot. */
  multiboot: 'multiboot' | 'multiboot2';
}

export interface PlanDevice {
  /** PCI slot (0000:00:02.0) or USB interface path. */
  id: string;
  vendor: string | null;
  device: string | null;
  /** Human-readable name from pci.ids when known (printed only). */
  name: string | null;
}

export interface Plan {
  target: TargetInfo;
  /** True when no Xen entry should be the default: noxen, a CPU Xen cannot run on (32-bit-only with 4.3+). */
  xenDisabled: boolean;
  /** Failsafe (nohwsetup/failsafe, or a failed probe): conservative options only. */
  safe: boolean;
  hvm: { available: boolean; technology: 'vmx' | 'svm' | null; reason: string; unreliable: boolean };
  longMode: boolean | null;
  arch: { xen: XenArch; dom0: XenArch; guests64: boolean };
  uma: {
    present: boolean;
    /** PCI slot of the UMA graphics (fact uma.device). */
    device: string | null;
    /** What that device takes from main memory, in MiB (rounded up), where the profile tells; null otherwise. */
    stolenMiB: number | null;
  };
  memory: {
    /**
     * MemTotal, in MiB, only where it is the machine's memory the sizes come from: no SMBIOS figure, and not a Xen
     * Dom0 (where MemTotal is Dom0's own share); null otherwise (probe/memory.ts machineMemory).
     */
    totalMiB: number | null;
    /**
     * The installed memory the firmware's SMBIOS tables state (profile.memory.installedKiB), whenever known: the sizes
     * come from it, inside a Xen Dom0 and without Xen alike (a plan note says so); null otherwise.
     */
    installedMiB: number | null;
    /** The Dom0 size as decided (null: Xen's default, all memory, ballooning). */
    dom0: string | null;
    dom0MiB: number | null;
    /**
     * installedMiB - dom0MiB - the UMA carve-out where known; else totalMiB - dom0MiB (UMA memory is already outside
     * MemTotal; see plan.ts); null when the Dom0 size or the machine's memory is unknown.
     */
    guestsMiB: number | null;
  };
  /**
   * host: the machine's logical CPUs, which Xen schedules (PCPUs; in a Xen Dom0 Xen's list of them, never Dom0's own
   * vCPUs; null when unknown); guests: the template's vCPUs (null: none set, the toolstack's default, 1).
   */
  vcpus: { host: number | null; dom0: number | 'all' | null; guests: number | null };
  /** available: an IOMMU Xen can use; null when unknown (no rule decided: the firmware's tables are not known). */
  iommu: { available: boolean | null; hidden: string[] };
  xen: { options: BootOption[]; cmdline: string };
  dom0: {
    options: BootOption[];
    cmdline: string;
    /** Modules to load at boot, in order (backends first), each with its options. */
    modules: {
      name: string;
      options: string | null;
      reason: string;
      /** From the rule that loads it: 'no-device' when it may find nothing to drive here (ENODEV: not-applicable). */
      optional: ModuleOptional | null;
    }[];
    blacklist: { name: string; reason: string }[];
    /**
     * modprobe.d `softdep MODULE pre: ...`: kmod loads `pre` first whenever it loads `module`. passthrough= makes
     * each hidden device's drivers wait for the PCI backend, so that the backend claims the device first.
     */
    softdeps: { module: string; pre: string[]; reason: string }[];
  };
  drivers: DriverMatch[];
  xserver: { server: string | null; module: string | null; description: string | null; device: PlanDevice | null };
  netcards: { device: PlanDevice; driver: string | null }[];
  /**
   * The bridge the HVM template's vif names, and what makes it: xend's network-bridge script on Xen 3.x; on 4.x
   * nothing of Xen's (Debian ships vif-bridge only), so autoconfig's ifupdown file /etc/network/interfaces.d/xenbr0
   * (src/emit/network.ts) on the first wired NIC. bridge null: no bridge (no wired NIC, or Xen does not run).
   */
  network: {
    bridge: string | null;
    by: 'xend' | 'ifupdown' | null;
    /** The wired NIC the bridge is on: the first of netcards that is not wireless. */
    port: { device: PlanDevice; driver: string | null } | null;
    /** DHCP on the bridge (ifupdown); false with nodhcp on the boot line (fact skip.dhcp). */
    dhcp: boolean;
    /** Why there is, or is not, a bridge, in words (the network file and the template say it). */
    reason: string;
  };
  sound: { device: PlanDevice; driver: string | null }[];
  mouse: { device: string | null; type: string | null; xtype: string | null } | null;
  /** The console the boot line asked for (docs/cheatcodes.md, console=): serial null when it asked for none. */
  console: { serial: SerialConsole | null };
  grub: {
    variant: 'efi' | 'bios';
    /** True when no rule chose the variant and EFI or BIOS is unknown: BIOS is assumed (a plan note says so). */
    variantAssumed: boolean;
    flavor: 'legacy' | 'grub2';
    entries: GrubEntry[];
  };
  guest: Record<string, FactValue>;
  sysconfig: Record<string, Record<string, string>>;
  notes: string[];
  warnings: string[];
  decisions: Decision[];
}

/** A serial console for GRUB, Xen and Dom0, from console=ttyS<N>[,<baud><parity><bits>] (src/plan/console.ts). */
export interface SerialConsole extends SerialConsoleSpec {
  /** Xen's port for it (console=comN,vga comN=BAUD,DPS); null for ttyS2/ttyS3, which Xen has no name for. */
  xenPort: 'com1' | 'com2' | null;
  /** What the Dom0 under Xen also gets, last: hvc0 for a pvops Dom0 (Xen 4.x); null otherwise. */
  dom0Console: string | null;
  /** The decision it comes from: "cheatcode:console=ttyS0,115200n8". */
  rule: string;
}

export interface GrubEntry {
  title: string;
  xen: boolean;
  arch: XenArch;
  /** Paths on the boot medium. */
  hypervisor: string | null;
  kernel: string;
  initrd: string;
  xenOptions: string;
  kernelOptions: string;
  default: boolean;
}
