// Plans for the emitter tests. t60Plan() is built by hand and kept minimal, from the real facts of the
// thinkpad-t60 fixture (fixtures/thinkpad-t60/profile.json: Core Duo T2400 without long mode, VT-x; 945GM at
// 0000:00:02.0 bound to i915, 82573L at 0000:02:00.0 bound to e1000e, ICH7 HDA at 0000:00:1b.0 bound to
// snd_hda_intel; names from data/pci.ids), so that a test can change one thing and see it in the output.
// planFor() runs the real pipeline (probe, drivers, rules, plan()) over a fixture for a target.
import { PciNames } from '../../src/ids/pci-ids.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import { targetInfo } from '../../src/plan/plan.ts';
import type { Plan } from '../../src/plan/types.ts';
import { loadFixture } from '../_support/memfs.ts';

let names: Promise<PciNames> | undefined;

export async function planFor(fixture: string, xen: string): Promise<Plan> {
  const { fs, root } = loadFixture(fixture);
  const d = await decide({ fs, root, xen });
  const ids = await (names ??= PciNames.load());
  return planDecided(d, (v, dev) => ids.device(v, dev));
}

/** The T60 on Xen 3.0.2 as the rules see it (HVM, 32-bit PAE Xen, Dom0 fixed at 512 MB), reduced to the essentials. */
export function t60Plan(): Plan {
  const gpu = {
    id: '0000:00:02.0',
    vendor: '8086',
    device: '27a2',
    name: 'Mobile 945GM/GMS, 943/940GML Express Integrated Graphics Controller',
  };
  const xenOptions = [{ name: 'dom0_mem', value: '524288', rule: 'dom0-mem-3.0.2-hvm' }];
  return {
    target: targetInfo({ version: '3.0.2', source: 'option', detail: '--xen 3.0.2' }),
    xenDisabled: false,
    safe: false,
    hvm: { available: true, technology: 'vmx', reason: 'cpuinfo flag vmx', unreliable: true },
    longMode: false,
    arch: { xen: 'x86_32', dom0: 'x86_32', guests64: false },
    uma: { present: true, device: '0000:00:02.0', stolenMiB: null },
    memory: { totalMiB: 2048, installedMiB: null, dom0: '512M', dom0MiB: 512, guestsMiB: 1536 },
    vcpus: { host: 2, dom0: 'all', guests: 1 },
    iommu: { available: false, hidden: [] },
    xen: { options: xenOptions, cmdline: 'dom0_mem=524288' },
    dom0: {
      options: [],
      cmdline: '',
      modules: [
        { name: 'netbk', options: null, reason: 'rule dom0-backends-xenlinux', optional: null },
        { name: 'blkbk', options: null, reason: 'rule dom0-backends-xenlinux', optional: null },
        { name: 'e1000e', options: null, reason: 'pci 0000:02:00.0: bound', optional: null },
      ],
      blacklist: [],
      softdeps: [],
    },
    drivers: [],
    xserver: { server: 'XFree86', module: 'i810', description: gpu.name, device: gpu },
    netcards: [
      {
        device: { id: '0000:02:00.0', vendor: '8086', device: '109a', name: '82573L Gigabit Ethernet Controller' },
        driver: 'e1000e',
      },
      { device: { id: '0000:03:00.0', vendor: '168c', device: '1014', name: 'AR5212 802.11abg NIC' }, driver: 'ath5k' },
    ],
    network: {
      bridge: 'xenbr0',
      by: 'xend',
      port: {
        device: { id: '0000:02:00.0', vendor: '8086', device: '109a', name: '82573L Gigabit Ethernet Controller' },
        driver: 'e1000e',
      },
      dhcp: true,
      reason: "xend's network-bridge script makes xenbr0 on the default route's interface when xend starts",
    },
    sound: [
      {
        device: {
          id: '0000:00:1b.0',
          vendor: '8086',
          device: '27d8',
          name: 'NM10/ICH7 Family High Definition Audio Controller',
        },
        driver: 'snd_hda_intel',
      },
    ],
    mouse: null,
    console: { serial: null },
    grub: {
      variant: 'bios',
      variantAssumed: false,
      flavor: 'legacy',
      entries: [
        {
          title: 'Xenoppix (Xen 3.0.2, x86_32)',
          xen: true,
          arch: 'x86_32',
          hypervisor: '/boot/x86_32/xen.gz',
          kernel: '/boot/x86_32/vmlinuz',
          initrd: '/boot/x86_32/initrd.gz',
          xenOptions: 'dom0_mem=524288',
          kernelOptions: '',
          default: true,
        },
        {
          title: 'Xenoppix (x86_32, without Xen)',
          xen: false,
          arch: 'x86_32',
          hypervisor: null,
          kernel: '/boot/x86_32/vmlinuz',
          initrd: '/boot/x86_32/initrd.gz',
          xenOptions: '',
          kernelOptions: '',
          default: false,
        },
      ],
    },
    guest: { vcpus: 1, pv_drivers: false, vif_type: 'ioemu', ne2000: 0, extra: 'nolapic nosmp noapm' },
    sysconfig: { xserver: { XSERVER: 'XFree86', XMODULE: 'i810' }, knoppix: { XSERVER: 'XFree86', XMODULE: 'i810' } },
    notes: [],
    warnings: [],
    decisions: [],
  };
}

/** The same machine planned for another Xen: only the target's syntax settings change. */
export function retarget(p: Plan, version: string): Plan {
  const target = targetInfo({ version, source: 'option', detail: `--xen ${version}` });
  return { ...p, target, grub: { ...p.grub, flavor: target.generation === '4.x' ? 'grub2' : 'legacy' } };
}
