// The shared vocabulary: the hardware profile every later stage (matching, rules, plan, emit) reads.
// Plain JSON-able data only. IDs are lower-case hex strings without 0x; anything the source did not tell
// is null (unknown), never a guessed default.

/** A problem met while probing: never thrown, always recorded, probing goes on. */
export interface Diagnostic {
  code: DiagnosticCode;
  /** The path inside the root (as the machine sees it, e.g. /sys/bus/pci/devices/0000:00:02.0/vendor). */
  path: string;
  message: string;
}

export type DiagnosticCode =
  | 'unreadable' // EACCES, EIO, EPERM ...
  | 'missing' // an attribute that should be there is not (the source itself being absent is not a diagnostic)
  | 'malformed' // present but not in the expected format (non-hex id, truncated line ...)
  | 'too-large' // more than the read cap; the value was not used
  | 'timeout' // a device-node read did not answer in time
  | 'symlink-loop' // ELOOP or more than 40 links
  | 'outside-root' // a path or symlink that would resolve outside the root
  | 'not-directory'
  | 'not-regular'; // a FIFO, socket or device where a file is read (or not a character device where one is)

export interface PciDevice {
  /** sysfs name with domain, e.g. "0000:00:02.0" (lspci -D form). */
  slot: string;
  vendor: string | null; // "8086"
  device: string | null; // "2a42"
  subvendor: string | null;
  subdevice: string | null;
  class: string | null; // "03"
  subclass: string | null; // "00"
  progIf: string | null; // "00"
  revision: string | null; // "07"
  modalias: string | null;
  /** The bound driver (basename of the `driver` link), null when none is bound. */
  driver: string | null;
  /** boot_vga: true for the firmware's primary display, null when the attribute is absent. */
  bootVga: boolean | null;
  /** Sizes of the BARs from `resource` (index 0..5, 6 = expansion ROM); only non-empty regions. */
  bars: PciBar[];
  iommuGroup: number | null;
}

export interface PciBar {
  index: number;
  /** Size in bytes (end - start + 1). */
  size: number;
  kind: 'io' | 'mem' | 'rom';
  prefetchable: boolean;
  is64: boolean;
}

export interface UsbDevice {
  /** sysfs name, e.g. "1-1.2" or "usb1" for a root hub. */
  path: string;
  busnum: number | null;
  devnum: number | null;
  vendor: string | null; // idVendor "046d"
  product: string | null; // idProduct "c52b"
  bcdDevice: string | null; // "1211"
  class: string | null; // bDeviceClass "00"
  subclass: string | null;
  protocol: string | null;
  /** Mb/s as the kernel prints it: "1.5", "12", "480", "5000" ... */
  speed: string | null;
  manufacturer: string | null;
  productName: string | null;
  interfaces: UsbInterface[];
}

export interface UsbInterface {
  /** sysfs name, e.g. "1-1.2:1.0". */
  path: string;
  number: string | null; // bInterfaceNumber "00"
  class: string | null;
  subclass: string | null;
  protocol: string | null;
  modalias: string | null;
  driver: string | null;
}

/** Hardware virtualization as far as this machine can tell. */
export type VtState =
  | 'enabled' // the CPU has it and firmware left it on: an MSR says so, or an Intel kernel >= 5.6 shows vmx
  // The CPU has it (the flag shows), but whether firmware left it on is not known: an Intel kernel before 5.6 (or of
  // unknown version) shows vmx even when IA32_FEATURE_CONTROL locks VMX off, Linux never hides svm when VM_CR.SVMDIS
  // is set, and no MSR was readable (xen.md §4.2).
  | 'unverified'
  | 'disabled-by-firmware' // the CPU has it (CPUID) but firmware locked it off (MSR, or the kernel cleared the flag)
  | 'absent' // the CPU does not have it (raw CPUID says so, or an old kernel that never hides the flag)
  | 'unknown'; // not in the flags, and nothing readable tells "absent" from "disabled"

/** EPT/NPT: present (a flag, CPUID or MSR shows it), absent (a source that would show it does not), unknown. */
export type HapState = 'present' | 'absent' | 'unknown';

export interface CpuidLeaf {
  leaf: string; // "00000001"
  subleaf: string; // "00000000"
  eax: string; // 8 hex digits
  ebx: string;
  ecx: string;
  edx: string;
}

export interface Cpu {
  /** Kernel/uname machine if known: "x86_64", "i686", "aarch64" ... */
  arch: string | null;
  vendor: string | null; // vendor_id: "GenuineIntel", "AuthenticAMD" ...
  family: number | null;
  model: number | null;
  stepping: number | null;
  modelName: string | null;
  /**
   * The machine's logical CPUs (hardware threads: Xen's PCPUs). On bare metal and in any guest the processors of
   * /proc/cpuinfo; in a Xen Dom0, whose cpuinfo lists its own vCPUs (fewer under dom0_max_vcpus), the physical CPUs
   * Xen lists to it (/sys/devices/system/xen_cpu/xen_cpuN), else null. countsFrom says which.
   */
  logicalCpus: number | null;
  /**
   * The machine's physical cores over all packages: from /proc/cpuinfo the distinct (physical id, core id) pairs; in a
   * Xen Dom0, whose cpuinfo topology is its vCPUs', the Core Enabled (else Core Count) of the SMBIOS processor
   * structures (type 4, /sys/firmware/dmi/entries/4-N/raw, root only) of the populated, enabled sockets, summed, else
   * null. null if not told.
   */
  cores: number | null;
  /** Packages (sockets): distinct physical ids of /proc/cpuinfo; in a Xen Dom0 the sockets counted for `cores`. */
  packages: number | null;
  /** Where logicalCpus, cores and packages come from (each null when that count is unknown), and why. */
  countsFrom: {
    logicalCpus: 'cpuinfo' | 'xen' | null;
    cores: 'cpuinfo' | 'smbios' | null;
    packages: 'cpuinfo' | 'smbios' | null;
    /** Empty where cpuinfo tells (bare metal, guests); in a Xen Dom0, what was read and what was not used. */
    evidence: string[];
  };
  /**
   * The flags line of the first CPU. When it is unknown (flagsKnown false) only the flags known to be in it, from a
   * partial statement (an imported lscpu without a Flags line: its op-mode and Virtualization lines), often none.
   */
  flags: string[];
  /** The newer kernels' separate `vmx flags` line (EPT, VPID, unrestricted_guest ...). */
  vmxFlags: string[];
  /** True when the whole flags line was read; false means `flags` lists only what is known to be in it. */
  flagsKnown: boolean;
  /**
   * Flags known NOT to be in the flags line although the line itself is unknown (flagsKnown false): what an imported
   * lscpu's op-mode ("32-bit": no lm) and missing Virtualization line (neither vmx nor svm) say. Empty when the line
   * is known (then every flag not in `flags` is missing) or nothing is known about it.
   */
  flagsAbsent: string[];
  vt: {
    technology: 'vmx' | 'svm' | null;
    state: VtState;
    /** Short human-readable reasons, e.g. "cpuinfo flag vmx", "MSR 0x3a locked with VMX outside SMX clear". */
    evidence: string[];
  };
  /**
   * Hardware-assisted paging (HAP): Intel EPT or AMD NPT/RVI, which HVM guests need on a Xen built without shadow
   * paging (Debian's 4.17: `# CONFIG_SHADOW_PAGING is not set`). `feature` is the one this CPU's VT would have
   * (vmx: ept, svm: npt), null when VT itself is not known; `absent` only where the source would have shown it.
   */
  hap: {
    state: HapState;
    feature: 'ept' | 'npt' | null;
    /** Short reasons, e.g. "cpuinfo flag ept", "no ept although this kernel lists its kind (vpid)". */
    evidence: string[];
  };
  longMode: boolean | null; // lm
  pae: boolean | null;
  /** CPUID.1:ECX[31] or the `hypervisor` flag: running under some hypervisor. */
  hypervisorFlag: boolean | null;
  /** Raw CPUID leaves read from /dev/cpu/0/cpuid, empty when unreadable. */
  cpuid: CpuidLeaf[];
  /** Raw MSRs read from /dev/cpu/0/msr, keyed by lower-case hex address without 0x ("3a", "c0010114"). */
  msr: Record<string, string>;
}

export interface Memory {
  /** MemTotal of /proc/meminfo: the RAM the kernel manages (in a Xen Dom0, Dom0's own share, not the machine's). */
  totalKiB: number | null;
  /**
   * The installed memory as the firmware's SMBIOS tables state it, the same inside a Xen Dom0 and without Xen: the
   * Memory Array Mapped Address ranges (type 19, /sys/firmware/dmi/entries/19-N/raw, root only), merged and summed;
   * in an imported tree, what its dmidecode log says (type 19 ranges, else the type 17 module sizes). A little more
   * than MemTotal: firmware and kernel reserves and UMA graphics memory are inside it. null when not known.
   */
  installedKiB: number | null;
}

/** /sys/class/dmi/id; the root-only fields (serials, uuid) are never read. */
export interface Dmi {
  sysVendor: string | null;
  productName: string | null;
  productVersion: string | null;
  productFamily: string | null;
  boardVendor: string | null;
  boardName: string | null;
  boardVersion: string | null;
  biosVendor: string | null;
  biosVersion: string | null;
  biosDate: string | null;
  chassisVendor: string | null;
  chassisType: string | null; // SMBIOS number as text: "10" = notebook
}

export interface Firmware {
  /**
   * /sys/firmware/efi exists: booted by EFI; false: /sys/firmware is there without it (BIOS, or CSM); null: unknown
   * (a tree without /sys/firmware: an imported log that does not tell).
   */
  efi: boolean | null;
  /** /sys/firmware/efi/fw_platform_size: 32 or 64. */
  efiBits: 32 | 64 | null;
  /** Names in /sys/firmware/acpi/tables (including RMAD, Xen's renamed DMAR), sorted; empty when none or unknown. */
  acpiTables: string[];
  iommu: {
    /**
     * An ACPI DMAR table (or RMAD under Xen): Intel VT-d is described by firmware. null when the table listing is
     * unknown (no /sys/firmware/acpi/tables: an imported log without it, or a kernel that did not read ACPI).
     */
    dmar: boolean | null;
    /** An ACPI IVRS table: AMD-Vi is described by firmware. null as for dmar. */
    ivrs: boolean | null;
    /** Entries of /sys/class/iommu (dmar0, ivhd0 ...): the kernel drives an IOMMU. */
    units: string[];
    /** Number of /sys/kernel/iommu_groups entries. */
    groups: number;
  };
}

export interface Hypervisor {
  xen: {
    /** /sys/hypervisor/type is "xen". */
    present: boolean;
    /** /sys/hypervisor/guest_type: "PV", "HVM", "PVH" (absent on old kernels). */
    guestType: string | null;
    /** "4.17.3" from version/{major,minor,extra}. */
    version: string | null;
    /** properties/capabilities split on spaces: "xen-3.0-x86_64", "hvm-3.0-x86_32" ... */
    capabilities: string[];
    /** properties/features as hex. */
    features: string | null;
    /** True when this kernel is the control domain: /proc/xen/capabilities has control_d, or features bit 11. */
    dom0: boolean | null;
  };
  /** CPUID 0x40000000 signature when readable: "XenVMMXenVMM", "KVMKVMKVM", "Microsoft Hv", "VBoxVBoxVBox" ... */
  cpuidSignature: string | null;
  /** What the DMI strings say: "QEMU", "VirtualBox", "VMware", "Xen", "Microsoft", ... or null. */
  dmiVendor: string | null;
  /**
   * The conclusion: which hypervisor this kernel runs under, if any. "xen" for a Dom0 too (it is a guest of Xen);
   * null when bare metal or unknown.
   */
  detected: string | null;
  /** 'dom0' | 'xen-pv' | 'xen-hvm' | 'guest' (another hypervisor) | 'bare-metal' | 'unknown'. */
  role: 'dom0' | 'xen-pv' | 'xen-hvm' | 'xen-pvh' | 'guest' | 'bare-metal' | 'unknown';
  evidence: string[];
}

/** Main memory that graphics takes away from the OS, as the running kernel reports it (xen.md §5). */
export interface GraphicsMemory {
  /**
   * Intel stolen memory: the "Graphics Stolen Memory" region of /proc/iomem (requested by i915 over the range the
   * x86 early quirk reserved in e820). Addresses as lower-case hex without 0x; null when no such region is listed or
   * its addresses are hidden (not root).
   */
  stolen: { start: string; end: string; bytes: number } | null;
  /** amdgpu's mem_info_vram_total of each display function that has it, in bytes: on an APU, the UMA carve-out. */
  vram: { slot: string; bytes: number }[];
}

export interface Kernel {
  /** /proc/sys/kernel/osrelease */
  release: string | null;
}

export interface HardwareProfile {
  /** Format version of this object; bump on incompatible change. */
  version: 1;
  pci: PciDevice[];
  usb: UsbDevice[];
  /**
   * The buses whose bound drivers the machine's tree does not tell; present only then. sysfs always tells (a
   * `driver` link exactly where one is bound): never on a live system. An imported tree tells only what its logs
   * did (lspci -k, lsusb -t, hwinfo, /proc/bus/pci/devices do; lsusb, lsusb -v, lspci -nn do not): its manifest lists
   * `pci.driver`/`usb.driver` as absent, and a snapshot of it keeps that. On such a bus `driver: null` is unknown,
   * not "none bound".
   */
  bindingUnknown?: Array<'pci' | 'usb'>;
  cpu: Cpu;
  memory: Memory;
  graphicsMemory: GraphicsMemory;
  dmi: Dmi;
  firmware: Firmware;
  hypervisor: Hypervisor;
  /** /proc/cmdline split into whole tokens, in order, quotes kept as the kernel parses them. */
  cmdline: string[];
  kernel: Kernel;
  diagnostics: Diagnostic[];
}
