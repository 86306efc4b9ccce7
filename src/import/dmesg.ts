// The kernel log (dmesg, journalctl -k, /var/log/kern.log). Only lines whose format the kernel fixes are read:
// - "Linux version X" (the release, = /proc/sys/kernel/osrelease) and "Kernel command line: ..." (printed from
//   saved_command_line, = /proc/cmdline) or, failing that, the x86 "Command line: ..." line;
// - the ACPI table listing "ACPI: DMAR 0x... 0000B8 (v01 ...)" (acpi_tb_print_table_header()) printed in one run
//   at boot: the tables that /sys/firmware/acpi/tables lists (not RSDP/XSDT/RSDT); tables loaded later (SSDTs of
//   the CPU power states) print the same line on their own and go to tables/dynamic, so they are not taken;
// - "efi: EFI v2.70 by ..." (efi_systab_report_header()): booted by EFI, so /sys/firmware/efi exists;
// - "pci 0000:00:02.0: [8086:0416] type 00 class 0x030000" (pci_setup_device()): ids and the full class, no
//   revision or subsystem; "vgaarb: setting as boot VGA device" (the sysfs boot_vga);
// - "usb 1-6: new high-speed USB device number 2 using xhci_hcd" and "usb 1-6: New USB device found,
//   idVendor=04f2, idProduct=b57e, bcdDevice=87.40" (hub.c): port path, device number, speed and ids; a later
//   "USB disconnect" removes the device.
// - graphics memory (xen.md §5): the x86 early quirk's "Reserving Intel graphics stolen memory at 0x%x-0x%x"
//   (arch/x86/kernel/early-quirks.c intel_graphics_stolen(); a 3.16 log in the corpus), later "Reserving Intel
//   graphics memory at %pR" ("[mem 0x7e000000-0x7fffffff]"; 5.6 to 6.19 logs in the corpus): the range the kernel
//   reserved in e820, which i915 requests as "Graphics Stolen Memory", so it becomes that /proc/iomem line (i915's
//   own request can be a little smaller: the GTT cut out on gen4, or its start + 1 retry). intel-gtt's
//   "<dev>: detected %dK stolen memory" (drivers/char/agp/intel-gtt.c) gives a size without an address, and before
//   the 2.6.3x rework the size less the GTT and the BIOS popup: only checked against the range. amdgpu's
//   "amdgpu: %uM of VRAM memory ready" (amdgpu_ttm_init(), real_vram_size in MiB, rounded down) is its
//   mem_info_vram_total (real_vram_size in bytes) at N MiB; printed with DRM_INFO ("[drm] amdgpu: ...", no device:
//   it belongs to the last "amdgpu <slot>:" line before it, as the driver probes its devices one at a time), and
//   with dev_info ("amdgpu <slot>: amdgpu: ...") since the 2025 "Convert from DRM_* to dev_*" patch. radeon prints
//   the same line but has no sysfs file for it: noted only.
// - the DMI identity line, CPU 0's identity and KVM's VT lines: src/import/kernel-cpu.ts.
// A log holding several boots is cut at its last "Linux version" line: that boot is the one described.
import { emptyParsed, normalizeSlot, toLines } from './_model.ts';
import type { Parsed, PciRecord, UsbDeviceRecord } from './_model.ts';
import { kernelMachine } from './kernel-cpu.ts';

const VERSION_RE = /^Linux version (\S+) /;
// pci_setup_device(): "type %02x class %#08x" (kernels before 4.x: "type %d").
const PCI_RE = /^pci ([0-9a-f:.]+): \[([0-9a-f]{4}):([0-9a-f]{4})\] type (?:\d|[0-9a-f]{2}) class 0x([0-9a-f]{6})\b/;
// hub_port_init(): "new <speed> USB device number N using <hcd>"; 2.6.1x: "new <speed> USB device using <hcd> and
// address N".
const USB_NEW_RE = /^usb (\d+)-([\d.]+): new (.+?) USB device (?:number (\d+) )?using \S+(?: and address (\d+))?$/;
// announce_device(): newer kernels add ", bcdDevice=%2x.%02x".
const USB_FOUND_RE = new RegExp(
  '^usb (usb(\\d+)|\\d+-[\\d.]+): New USB device found, idVendor=([0-9a-f]{4}), idProduct=([0-9a-f]{4})' +
    '(?:, bcdDevice=\\s*([0-9a-f]{1,2})\\.([0-9a-f]{2}))?$',
);
const STOLEN_RES_RE = /^Reserving Intel graphics (?:stolen memory at 0x([0-9a-f]+)-0x([0-9a-f]+)|memory at \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)(?: [^\]]*)?\])$/;
const GTT_STOLEN_RE = /^\S+ [0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]: detected (\d+)K stolen memory$/;
const GPU_DEVICE_RE = /^(amdgpu|radeon) ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): /;
const VRAM_RE = /^(?:\[drm\] |(?:amdgpu|radeon) ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]): )(amdgpu|radeon): (\d+)M of VRAM memory ready$/;

// What precedes the message: a syslog level, a syslog or ISO date with host and "kernel:", a [timestamp].
const PREFIX_RE =
  /^(?:<\d>)?(?:(?:[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ kernel: )?(?:\[[^\]]*\] ?)?/;

// Message prefixes (subsystem or driver names) that only the kernel log has, for logs without timestamps whose
// first lines were lost when the ring buffer wrapped.
const KERNEL_PREFIX_RE = new RegExp(
  `^(?:${[
    ...['ACPI', 'PCI', 'pci \\S+', 'usb \\S+', 'hub \\S+', 'usbcore', '[oeux]hci_hcd(?: \\S+)?', 'ata\\d+(?:\\.\\d+)?'],
    ...['scsi\\d*', 'sd \\S+', 'EXT\\d-fs(?: \\(\\S+\\))?', 'Freeing', 'Memory', 'CPU\\d*', 'Calibrating delay'],
    ...['Dentry cache', 'Inode-cache', 'Mount-cache', 'e820', 'BIOS-e820', 'DMI', 'input', 'serio', 'i8042', 'rtc\\S*'],
    ...['Console', 'NET', 'TCP', 'IP', 'agpgart', 'Real Time Clock', 'PnPBIOS', 'Linux version', 'Kernel command line'],
  ].join('|')})\\b`,
);

/** A kernel log line's message, without the syslog, journal or timestamp prefix. */
export function kernelMessage(line: string): string {
  return line.replace(PREFIX_RE, '');
}

export function detectDmesg(lines: string[]): boolean {
  const head = lines.slice(0, 3000);
  let stamped = 0;
  let kernelish = 0;
  let known = 0;
  for (const line of head) {
    if (/^(?:<\d>)?\[\s*\d+\.\d+\] /.test(line)) stamped++;
    const msg = line.replace(PREFIX_RE, '');
    if (VERSION_RE.test(msg) || /^(?:Kernel )?[Cc]ommand line: /.test(msg) || /^BIOS-e820: /.test(msg)) kernelish++;
    if (KERNEL_PREFIX_RE.test(msg)) known++;
  }
  const nonEmpty = head.filter((l) => l.trim() !== '').length;
  return kernelish >= 2 || (stamped >= 5 && stamped * 2 >= nonEmpty) || (known >= 10 && known * 5 >= nonEmpty);
}

/** Sysfs speed of "new <speed> USB device" (usb_speed_string() and the SuperSpeed variants of hub.c). */
function usbSpeed(text: string): string | undefined {
  // 2.6.1x kernels wrote "low speed" without the hyphen.
  if (text === 'low-speed' || text === 'low speed') return '1.5';
  if (text === 'full-speed' || text === 'full speed') return '12';
  if (text === 'high-speed' || text === 'high speed') return '480';
  if (text === 'SuperSpeed' || text === 'SuperSpeed Gen 1') return '5000';
  if (/^SuperSpeed Plus Gen 2x2$/.test(text)) return '20000';
  if (/^SuperSpeed Plus(?: Gen 2| Gen 2x1| Gen 1x2)?$/.test(text)) return '10000';
  return undefined;
}

export function parseDmesg(text: string, file: string): Parsed {
  const parsed = emptyParsed('dmesg');
  const all = toLines(text).map((line) => line.replace(PREFIX_RE, ''));
  let start = 0;
  let boots = 0;
  all.forEach((msg, index) => {
    if (VERSION_RE.test(msg)) {
      boots++;
      start = index;
    }
  });
  if (boots > 1) {
    parsed.notes.push(`${file}: ${boots} boots in the log; only the last (from line ${start + 1}) is used`);
  }
  const msgs = all.slice(start);
  const lineOf = (i: number) => start + i + 1;

  let release: string | undefined;
  let cmdline: string | undefined;
  let x86Cmdline: string | undefined;
  let efi = false;
  const tables: string[] = [];
  const tableKeys = new Set<string>();
  let listing: 'before' | 'in' | 'after' = 'before';
  const pci = new Map<string, PciRecord>();
  let bootVga: string | undefined;
  const usb = new Map<string, UsbDeviceRecord>();
  let stolen: { start: bigint; end: bigint; line: number } | undefined;
  let gttStolen: { kib: number; line: number } | undefined;
  const lastGpu = new Map<string, string>();
  const vram = new Map<string, { mib: number; line: number }>();

  msgs.forEach((msg, i) => {
    let m: RegExpExecArray | null;
    const table = /^ACPI: ([A-Z0-9_!]{4}) (?:0x)?([0-9A-Fa-f]{8,16}) [0-9A-Fa-f]{5,6}(?: \(.*\))?$/.exec(msg);
    if (table === null && listing === 'in') listing = 'after';
    if (table !== null && listing !== 'after') {
      const [sig, addr] = [table[1]!, table[2]!];
      if (listing === 'before' && sig !== 'RSDP' && sig !== 'XSDT' && sig !== 'RSDT') return;
      listing = 'in';
      // RSDP and XSDT/RSDT are the roots, not entries of /sys/firmware/acpi/tables.
      if (sig === 'RSDP' || sig === 'XSDT' || sig === 'RSDT') return;
      const key = `${sig}@${addr.toLowerCase()}`;
      if (!tableKeys.has(key)) {
        tableKeys.add(key);
        tables.push(sig);
      }
      return;
    }
    if ((m = VERSION_RE.exec(msg))) release ??= m[1];
    else if ((m = /^Kernel command line: (.*)$/.exec(msg))) cmdline ??= m[1];
    else if ((m = /^Command line: (.*)$/.exec(msg))) x86Cmdline ??= m[1];
    else if (/^(?:efi: )?EFI v\d+\.\d+ by /.test(msg)) efi = true;
    else if ((m = PCI_RE.exec(msg))) {
      const slot = normalizeSlot(m[1]!);
      if (slot === null) return;
      pci.set(slot, { slot, vendor: m[2]!, device: m[3]!, class: m[4]!, line: lineOf(i) });
    } else if (
      (m = /^pci ([0-9a-f:.]+): vgaarb: (?:setting as boot VGA device|overriding boot device)/.exec(msg)) ||
      (m = /^vgaarb: (?:setting as|overriding) boot device: PCI:([0-9a-f:.]+)$/.exec(msg))
    ) {
      bootVga = normalizeSlot(m[1]!) ?? bootVga;
    } else if ((m = USB_NEW_RE.exec(msg))) {
      const name = `${m[1]}-${m[2]}`;
      const devnum = Number(m[4] ?? m[5]);
      const record: UsbDeviceRecord = { bus: Number(m[1]), name, interfaces: [], line: lineOf(i) };
      if (Number.isInteger(devnum)) record.devnum = devnum;
      const speed = usbSpeed(m[3]!);
      if (speed !== undefined) record.speed = speed;
      usb.set(name, record);
    } else if ((m = USB_FOUND_RE.exec(msg))) {
      const name = m[1]!;
      let record = usb.get(name);
      if (!record) {
        if (m[2] === undefined) return; // a device whose enumeration line is missing: its number is unknown
        record = { bus: Number(m[2]), devnum: 1, name, interfaces: [], line: lineOf(i) };
        usb.set(name, record);
      }
      [record.vendor, record.product] = [m[3]!, m[4]!];
      if (m[5] !== undefined) record.bcdDevice = m[5].padStart(2, '0') + m[6]!;
    } else if ((m = /^usb (usb\d+|\d+-[\d.]+): (Product|Manufacturer): (.*)$/.exec(msg))) {
      const record = usb.get(m[1]!);
      if (record && m[2] === 'Product') record.productName = m[3]!;
      else if (record) record.manufacturer = m[3]!;
    } else if ((m = STOLEN_RES_RE.exec(msg))) {
      stolen = { start: BigInt(`0x${m[1] ?? m[3]}`), end: BigInt(`0x${m[2] ?? m[4]}`), line: lineOf(i) };
    } else if ((m = GTT_STOLEN_RE.exec(msg))) {
      gttStolen = { kib: Number(m[1]), line: lineOf(i) };
    } else if ((m = VRAM_RE.exec(msg))) {
      const [driver, mib, slot] = [m[2]!, Number(m[3]), m[1] ?? lastGpu.get(m[2]!)];
      if (slot === undefined) parsed.notes.push(`${file}:${lineOf(i)}: ${driver} VRAM of no known device; not used`);
      else if (driver === 'radeon') {
        parsed.notes.push(`${file}:${lineOf(i)}: radeon ${slot}: ${mib}M of VRAM (radeon has no sysfs file for it; not written)`);
      } else vram.set(slot, { mib, line: lineOf(i) });
    } else if ((m = GPU_DEVICE_RE.exec(msg))) {
      lastGpu.set(m[1]!, m[2]!);
    } else if ((m = /^usb (\d+-[\d.]+): USB disconnect, (?:device number|address) (\d+)$/.exec(msg))) {
      const record = usb.get(m[1]!);
      if (record && record.devnum === Number(m[2])) usb.delete(m[1]!);
      // Devices below a hub go with it; the kernel logs them one by one too, this only covers a cut log.
      for (const name of [...usb.keys()]) if (name.startsWith(`${m[1]}.`)) usb.delete(name);
    }
  });

  machineFacts(parsed, kernelMachine(msgs.map((text, i) => ({ text, line: lineOf(i) })), file, release));
  if (release !== undefined) {
    parsed.files['proc/sys/kernel/osrelease'] = `${release}\n`;
    parsed.used.push('kernel.osrelease');
  }
  const line = cmdline ?? x86Cmdline;
  if (line !== undefined) {
    parsed.files['proc/cmdline'] = `${line}\n`;
    parsed.used.push('kernel.cmdline');
  }
  if (efi) {
    parsed.dirs.push('sys/firmware/efi');
    parsed.used.push('firmware.efi');
  } else if (boots > 0) {
    // The boot is logged from its first line and no EFI system table was reported: BIOS (or CSM) boot. A bare
    // /sys/firmware says so (src/probe/firmware.ts: without /sys/firmware EFI or BIOS is unknown).
    parsed.dirs.push('sys/firmware');
    parsed.known.push('firmware.efi');
    parsed.used.push('firmware.efi');
  } else if (tables.length > 0) {
    // The table listing without the start of the boot (a cut log) cannot tell EFI from BIOS, but the tables would
    // make /sys/firmware, which reads as "BIOS": not written, rather than claim that.
    parsed.notes.push(
      `${file}: ACPI tables listed but the log does not start at boot (no "Linux version" line): EFI or BIOS ` +
        'unknown, so the tables are not written (they would say BIOS)',
    );
    tables.length = 0;
  }
  if (tables.length > 0) {
    const count = new Map<string, number>();
    for (const sig of tables) count.set(sig, (count.get(sig) ?? 0) + 1);
    const seen = new Map<string, number>();
    parsed.dirs.push('sys/firmware/acpi/tables');
    for (const sig of tables) {
      const n = (seen.get(sig) ?? 0) + 1;
      seen.set(sig, n);
      // drivers/acpi/sysfs.c acpi_table_attr_init(): a signature seen more than once is numbered from 1.
      parsed.files[`sys/firmware/acpi/tables/${count.get(sig)! > 1 ? `${sig}${n}` : sig}`] = '';
    }
    parsed.used.push('firmware.acpi');
  }
  if (stolen !== undefined && stolen.end >= stolen.start) {
    // kernel/resource.c r_show(): "%0*llx-%0*llx : %s", 8 digits at least.
    const hex8 = (v: bigint) => v.toString(16).padStart(8, '0');
    parsed.files['proc/iomem'] = `${hex8(stolen.start)}-${hex8(stolen.end)} : Graphics Stolen Memory\n`;
    parsed.used.push('graphics.stolen');
    const kib = Number((stolen.end - stolen.start + 1n) / 1024n);
    if (gttStolen !== undefined && gttStolen.kib !== kib) {
      parsed.notes.push(`${file}:${gttStolen.line}: intel-gtt detected ${gttStolen.kib}K stolen memory, the early quirk reserved ${kib}K (line ${stolen.line}); the reserved range was taken`);
    }
  } else if (gttStolen !== undefined) {
    parsed.notes.push(`${file}:${gttStolen.line}: intel-gtt detected ${gttStolen.kib}K stolen memory but no log line gives its address; /proc/iomem not written`);
  }
  for (const record of pci.values()) {
    // boot_vga exists for VGA-class devices only; vgaarb has exactly one default device.
    if (bootVga !== undefined && record.class!.startsWith('0300')) record.bootVga = record.slot === bootVga ? '1' : '0';
    parsed.pci.push(record);
  }
  if (parsed.pci.length > 0) parsed.used.push('pci.ids', 'pci.class');
  for (const [slot, { mib, line }] of vram) {
    // A device whose "pci <slot>: [vvvv:dddd]" line the log lost keeps its VRAM for another log that names it.
    const record = pci.get(slot) ?? { slot, line };
    record.vramTotal = String(mib * 1048576);
    if (!pci.has(slot)) parsed.pci.push(record);
  }
  if (vram.size > 0) parsed.used.push('graphics.vram');
  if (bootVga !== undefined && parsed.pci.some((r) => r.bootVga !== undefined)) parsed.used.push('pci.boot_vga');
  for (const record of usb.values()) {
    if (record.vendor === undefined) continue; // enumeration failed: no descriptor was read
    parsed.usb.push(record);
  }
  return parsed;
}

/** The DMI files (weak: dmidecode wins) and CPU facts of kernelMachine() into a parse result. */
export function machineFacts(parsed: Parsed, machine: ReturnType<typeof kernelMachine>): void {
  if (Object.keys(machine.dmi).length > 0) {
    // Marked used by the merge, where no better source states the file.
    parsed.weakFiles = { ...parsed.weakFiles, ...machine.dmi };
  }
  if (machine.cpu !== null) parsed.cpu = machine.cpu;
  parsed.notes.push(...machine.notes);
}
