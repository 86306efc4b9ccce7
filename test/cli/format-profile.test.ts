import { describe, expect, it } from 'vitest';
import { formatProfile } from '../../src/cli/format-profile.ts';
import { PciNames } from '../../src/ids/pci-ids.ts';
import { UsbNames } from '../../src/ids/usb-ids.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { readExpected } from '../_support/memfs.ts';

const names = { pci: await PciNames.load(), usb: await UsbNames.load() };
const profileOf = (name: string) => readExpected(name, 'profile.json') as HardwareProfile;

describe('formatProfile', () => {
  it('prints PCI devices as lspci -nnk does', () => {
    const text = formatProfile(profileOf('thinkpad-t60'), names);
    expect(text).toContain(
      '00:02.0 VGA compatible controller [0300]: Intel Corporation Mobile 945GM/GMS, 943/940GML Express Integrated ' +
        'Graphics Controller [8086:27a2] (rev 03)\n' +
        '\tSubsystem: Lenovo ThinkPad R60/T60/X60 series [17aa:201a]\n' +
        '\tKernel driver in use: i915\n',
    );
  });

  it.each([
    ['thinkpad-t60', 'Hardware virtualization: present (Intel VT-x vmx), firmware setting unverified', '64-bit (long mode): no'],
    ['intel-nvidia-laptop', 'Hardware virtualization: yes (Intel VT-x vmx)  [cpuinfo flag vmx; kernel 5.8.0-38-generic (>= 5.6)'],
    ['vt-disabled', 'Hardware virtualization: disabled by firmware (vmx present; enable it in the BIOS setup)', '64-bit (long mode): yes'],
    ['firecracker-vm', 'Hardware virtualization: no (the CPU lacks it)', 'Hypervisor: virtual machine (kvm)'],
    ['thinkpad-t42', 'Hardware virtualization: no (the CPU lacks it)', '64-bit (long mode): no, PAE: no'],
    ['atom-netbook', '64-bit (long mode): no, PAE: unknown', '  CPU flags: known only in part: lm no, vmx no, svm no\n'],
    ['xen-hvm-guest', '  CPU flags: not known\n'],
    ['thinkpad-t60', '\nMemory: unknown; installed (SMBIOS): 3.0 GiB (3145728 KiB)\n'],
    ['firecracker-vm', '\nMemory: 23.5 GiB (24683656 KiB)\n', '\nFirmware: BIOS (no EFI); ACPI tables: APIC DSDT FACP MCFG\n'],
    [
      'thinkpad-t60',
      '\nFirmware: EFI or BIOS unknown; ACPI tables: unknown\n',
      '\n  IOMMU: ACPI DMAR/IVRS tables unknown; kernel units: none; groups: 0\n',
    ],
    ['xen-dom0', 'Hypervisor: Xen Dom0 (control domain) Xen 3.1.2-238.el5', 'DMI: Apple Computer, Inc. MacBookPro2,1'],
    // The vendor said once (DMI "HP" / "HP ProBook 455 G7"), Intel's padded brand string with single spaces.
    ['amd-apu-laptop', '\nDMI: HP ProBook 455 G7; BIOS HP S79 Ver. 01.03.01'],
    ['thinkpad-t60', '\nCPU: Genuine Intel(R) CPU T2400 @ 1.83GHz (GenuineIntel', '\nDMI: LENOVO 1951BY8 ThinkPad T60; BIOS'],
    // EPT/NPT (cpu.hap), after the VT line.
    ['intel-nvidia-laptop', '\n  Hardware-assisted paging (Intel EPT): yes  [cpuinfo flag ept]\n'],
    ['amd-apu-laptop', '\n  Hardware-assisted paging (AMD NPT): yes  [cpuinfo flag npt]\n'],
    [
      'macbookpro5-5',
      '\n  Hardware-assisted paging (Intel EPT): no  [no ept although this kernel lists its kind (tpr_shadow, vnmi, flexpriority)]\n',
    ],
    ['thinkpad-t42', '\n  Hardware-assisted paging (EPT/NPT): no  [the CPU has no VT-x/AMD-V, so no EPT/NPT either]\n'],
    ['xen-dom0', "\n  Hardware-assisted paging (Intel EPT): no  [in a Xen Dom0 the CPU flags are Xen's filtered view"],
    // Its counts are the machine's, which its logs do not tell: never its own vCPUs'.
    [
      'xen-dom0',
      '\nCPU: Intel(R) Core(TM)2 CPU T7600 @ 2.33GHz (GenuineIntel family 6 model 15 stepping 6)\n',
      "\n  The machine's counts: logical CPUs unknown, cores unknown, packages unknown  [no /sys/devices/system/xen_cpu ",
      "; this Dom0's /proc/cpuinfo (2 vCPUs, 2 cores) describes its own vCPUs, not the machine: not used]\n",
    ],
  ])('%s: %s', (name, ...expected) => {
    const text = formatProfile(profileOf(name), names);
    for (const line of expected) expect(text).toContain(line);
  });

  it("prints where a Dom0's counts come from, and nothing of the kind on bare metal", () => {
    const profile = profileOf('xen-dom0');
    profile.cpu = {
      ...profile.cpu,
      logicalCpus: 2,
      cores: 2,
      packages: 1,
      countsFrom: { logicalCpus: 'xen', cores: 'smbios', packages: 'smbios', evidence: ['Xen lists 2 physical CPUs', 'SMBIOS: 2 cores'] },
    };
    expect(formatProfile(profile)).toContain(
      ", 2 logical CPUs, 2 cores, 1 package\n  The machine's counts: logical CPUs Xen's PCPU list, cores SMBIOS type 4, " +
        'packages SMBIOS type 4  [Xen lists 2 physical CPUs; SMBIOS: 2 cores]\n',
    );
    expect(formatProfile(profileOf('thinkpad-t60'))).not.toContain("The machine's counts");
  });

  it('prints the graphics memory the kernel reported, when it reported any', () => {
    const profile = profileOf('amd-apu-laptop');
    expect(formatProfile(profile)).not.toContain('Graphics memory');
    // Intel stolen memory at the range the Legion Y520's kernel reserved; a Raphael APU's 512M carve-out.
    profile.graphicsMemory = {
      stolen: { start: '7e000000', end: '7fffffff', bytes: 32 << 20 },
      vram: [{ slot: '0000:59:00.0', bytes: 512 << 20 }],
    };
    expect(formatProfile(profile)).toContain(
      '\n  Graphics memory: Graphics Stolen Memory 32 MiB at 7e000000-7fffffff; 59:00.0 VRAM 512 MiB (mem_info_vram_total)\n',
    );
  });

  it('says "binding unknown" on a bus the profile marks so, "no driver bound" where the tree tells', () => {
    // The APU laptop's logs: lsusb -v, which names no driver (bindingUnknown ["usb"]).
    const imported = profileOf('amd-apu-laptop');
    expect(imported.bindingUnknown).toEqual(['usb']);
    const text = formatProfile(imported, names);
    expect(text).toMatch(/\nUSB devices \(4, bound drivers unknown: the logs do not say\):\n/);
    expect(text).toContain('\t1-0:1.0 class 09/00/00 (Hub), binding unknown\n');
    expect(text).not.toContain('no driver bound');
    // The same devices where sysfs would have told: none bound.
    delete imported.bindingUnknown;
    const told = formatProfile(imported, names);
    expect(told).toContain('\nUSB devices (4):\n');
    expect(told).toContain('\t1-0:1.0 class 09/00/00 (Hub), no driver bound\n');
  });

  it('falls back to ids when no names are loaded', () => {
    const text = formatProfile(profileOf('thinkpad-t60'));
    expect(text).toContain('00:02.0 Class [0300]: Vendor 8086 Device 27a2 [8086:27a2] (rev 03)');
  });
});
