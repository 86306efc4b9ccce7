// What a kernel log says about the machine besides its devices: the DMI identity line, CPU 0's identity and what
// KVM's module init proves about VT-x/AMD-V. Each message is matched exactly as the kernel builds it; what the text
// leaves open (where one string ends and the next begins, whether a word is the CPU's or the kernel's) stays unknown.
//
// - "DMI: <ids>, BIOS <version> <date>": drivers/firmware/dmi_scan.c dmi_format_ids() (printed by dmi_setup() and
//   kept for dump_stack() by dump_stack_set_arch_desc(), lib/dump_stack.c) builds it as sys_vendor + " " +
//   product_name + ["/" + board_name, when there is a board string] + ", BIOS " + bios_version + " " + bios_date,
//   each string as the kernel keeps it for /sys/class/dmi/id (a string of spaces only is empty; a byte that is not
//   printable shows as \xNN). The BIOS version and date are certain when the line ends in a date (SMBIOS dates have
//   no space). The vendor is certain when the ids hold exactly one space: it is the separator. The product is
//   certain when moreover no "/" follows (then no board string was printed); with one, "P/B" may be a product and a
//   board or a product "P/B" of a machine without a board structure. Written as weak files: dmidecode, a direct
//   copy of the table, wins.
// - "smpboot: CPU0: <name> (family: 0x6, model: 0x3a, stepping: 0x9)" (arch/x86/kernel/cpu/common.c
//   print_cpu_info(); before 4.x "(fam: 06, model: 3a, stepping: 09)", all hex): family, model, stepping, and the
//   name: the kernel puts its vendor name (the cpu_dev's c_vendor: "Intel", "AMD", "Hygon", ...) before the model
//   name when the model name lacks it (strstr, case-sensitive), and prints "<family>86" when the CPU has no name.
// - KVM's module init (arch/x86/kvm/x86.c kvm_arch_init() until 6.3, then kvm_is_{vmx,svm}_supported() in
//   arch/x86/kvm/vmx/vmx.c and arch/x86/kvm/svm/svm.c), svm_hardware_setup() (svm.c; "kvm: " until 4.x, "SVM: kvm: "
//   in 5.x, "kvm_amd: " since) and feat_ctl.c's "VMX (outside TXT) disabled by BIOS" (arch/x86/kernel/cpu/feat_ctl.c,
//   5.6+, which then clears vmx). What they prove about the flags line becomes partial flags (+svm +npt, -vmx ...).
//   That firmware disabled VT cannot be written: the probe learns it only from the MSR (IA32_FEATURE_CONTROL, VM_CR),
//   of which such a line gives one or two bits, not the value a capture holds; the manifest notes it instead.
import { kernelBefore } from '../probe/cpu.ts';
import type { CpuFacts, Stated } from './_model.ts';

/** The cpu_dev c_vendor names of arch/x86/kernel/cpu/*.c (zhaoxin.c spells it both ways over the years). */
const KERNEL_VENDORS = [
  ...['Intel', 'AMD', 'Hygon', 'Centaur', 'zhaoxin', 'Zhaoxin'],
  ...['Cyrix', 'Transmeta', 'NSC', 'UMC', 'Vortex'],
];
/** Those whose CPUID vendor_id is one string (Transmeta has two, the others do not matter here). */
const VENDOR_IDS: Record<string, string> = { Intel: 'GenuineIntel', AMD: 'AuthenticAMD', Hygon: 'HygonGenuine' };

const DMI_RE = /^DMI: (.*), BIOS (.*) (\d\d\/\d\d\/(?:\d\d|\d{4}))$/;
const CPU0_RE = new RegExp(
  '^(?:smpboot: )?CPU0: (.+) \\((?:family: 0x([0-9a-f]+), model: 0x([0-9a-f]+)(?:, stepping: 0x([0-9a-f]+))?|' +
    'fam: ([0-9a-f]{2,}), model: ([0-9a-f]{2,})(?:, stepping: ([0-9a-f]{2,}))?)\\)$',
);

export interface KernelMachine {
  cpu: CpuFacts | null;
  /** /sys/class/dmi/id files (weak: a dmidecode log wins). */
  dmi: Record<string, string>;
  notes: string[];
}

interface Msg {
  text: string;
  line: number;
}

/**
 * Reads the lines above from one boot's messages (prefixes already stripped). `release` is that boot's kernel, when
 * the log names it: some lines mean different things before and after a kernel change.
 */
export function kernelMachine(msgs: Msg[], file: string, release: string | undefined): KernelMachine {
  const out: KernelMachine = { cpu: null, dmi: {}, notes: [] };
  const flags: CpuFacts['flags'] = {};
  let cpu: Omit<CpuFacts, 'flags'> | null = null;
  let hypervisor: Msg | undefined;
  const kvm: Msg[] = [];
  for (const msg of msgs) {
    let m: RegExpExecArray | null;
    if ((m = DMI_RE.exec(msg.text)) && Object.keys(out.dmi).length === 0) dmiLine(m, msg, file, out);
    else if ((m = CPU0_RE.exec(msg.text)) && cpu === null) cpu = cpuLine(m, msg);
    else if (/^Hypervisor detected: /.test(msg.text)) hypervisor ??= msg;
    else if (/^(?:kvm|kvm_intel|kvm_amd|SVM|x86\/cpu): /.test(msg.text)) kvm.push(msg);
  }
  if (cpu !== null) {
    const name = cpu.modelName;
    // "AMD Ryzen 7 ...": the model name, or the kernel's "AMD " before a name that lacks it. A real AMD or Hygon CPU
    // of family 6 and later names itself, vendor first, in its CPUID brand string (what the kernel reads as the
    // name); a hypervisor may offer any brand string ("QEMU Virtual CPU"), so under one it stays unknown.
    const first = name?.value.split(' ')[0] ?? '';
    const maybePrefixed = KERNEL_VENDORS.includes(first) && !name!.value.slice(first.length + 1).includes(first);
    const branded = (first === 'AMD' || first === 'Hygon') && (cpu.family?.value ?? 0) >= 6;
    if (maybePrefixed && (!branded || hypervisor !== undefined)) {
      const why =
        hypervisor !== undefined ? `under a hypervisor (line ${hypervisor.line})` : `a ${first} CPU's name need not start so`;
      const what = `"${first}" may be the kernel's vendor word before it (${why})`;
      out.notes.push(`${file}:${name!.line}: the model name is unknown: ${what}`);
      delete cpu.modelName;
    }
    out.cpu = { ...cpu, flags };
  }
  const vendor = out.cpu?.vendor?.value ?? null;
  for (const msg of kvm) kvmLine(msg, file, release, vendor, flags, out.notes);
  if (out.cpu === null && Object.keys(flags).length > 0) out.cpu = { flags };
  return out;
}

function dmiLine(m: RegExpExecArray, msg: Msg, file: string, out: KernelMachine): void {
  const [ids, version, date] = [m[1]!, m[2]!, m[3]!];
  const put = (name: string, value: string) => {
    // print_filtered() shows an unprintable byte as \xNN: the string itself is then not known.
    if (/\\x[0-9a-f]{2}/.test(value)) out.notes.push(`${file}:${msg.line}: DMI ${name} has an escaped byte; not taken`);
    else out.dmi[`sys/class/dmi/id/${name}`] = `${value}\n`;
  };
  put('bios_version', version);
  put('bios_date', date);
  const spaces = ids.split(' ').length - 1;
  const at = ids.indexOf(' ');
  if (spaces === 1 && at > 0) {
    put('sys_vendor', ids.slice(0, at));
    const rest = ids.slice(at + 1);
    if (!rest.includes('/')) put('product_name', rest);
    else out.notes.push(`${file}:${msg.line}: DMI "${rest}": product and board, or one product name; neither taken`);
  } else {
    const why = 'where the vendor ends is unknown (the strings may hold spaces); only the BIOS taken';
    out.notes.push(`${file}:${msg.line}: DMI "${ids}": ${why}`);
  }
}

function cpuLine(m: RegExpExecArray, msg: Msg): Omit<CpuFacts, 'flags'> {
  const stated = <T>(value: T): Stated<T> => ({ value, line: msg.line, text: msg.text });
  const hex = (a: string | undefined, b: string | undefined) => {
    const digits = a ?? b;
    return digits === undefined ? undefined : stated(Number.parseInt(digits, 16));
  };
  const text = m[1]!.trim();
  const cpu: Omit<CpuFacts, 'flags'> = {};
  const family = hex(m[2], m[5]);
  const model = hex(m[3], m[6]);
  const stepping = hex(m[4], m[7]);
  if (family) cpu.family = family;
  if (model) cpu.model = model;
  if (stepping) cpu.stepping = stepping;
  // The line holds the vendor's kernel name either way (in the name, or put before it): one known name is it.
  const named = KERNEL_VENDORS.filter((v) => text.includes(v));
  if (named.length === 1 && VENDOR_IDS[named[0]!] !== undefined) cpu.vendor = stated(VENDOR_IDS[named[0]!]!);
  // "<vendor> 686": a CPU without a name, which /proc/cpuinfo shows as "unknown".
  const nameless = family !== undefined && new RegExp(`^(?:\\S+ )?${family.value}86$`).test(text);
  if (!nameless) cpu.modelName = stated(text);
  return cpu;
}

function kvmLine(
  msg: Msg,
  file: string,
  release: string | undefined,
  vendor: string | null,
  flags: CpuFacts['flags'],
  notes: string[],
): void {
  const set = (flag: string, present: boolean) => {
    flags[flag] ??= { value: present, line: msg.line, text: msg.text };
  };
  const firmware = (what: string) =>
    notes.push(
      `${file}:${msg.line}: "${msg.text}": the firmware disabled ${what}; the tree cannot say so (only an MSR read ` +
        'tells the probe, and an import has none)',
    );
  const t = msg.text;
  // Only the module's own messages; the kernel name or its version says which module printed a bare "kvm: ".
  const byVendor = vendor === 'GenuineIntel' ? 'kvm_intel' : vendor === 'AuthenticAMD' || vendor === 'HygonGenuine' ? 'kvm_amd' : null;
  const module = /'(kvm_intel|kvm_amd)'/.exec(t)?.[1] ?? byVendor;
  const before = (major: number, minor: number) => kernelBefore(release ?? null, major, minor);
  let m: RegExpExecArray | null;
  if ((m = /^(?:SVM: |kvm_amd: )?(?:kvm: )?Nested Paging (enabled|disabled)$/.exec(t))) {
    // svm_hardware_setup() runs only once has_svm() saw the svm flag; "enabled" only with boot_cpu_has(NPT), whose
    // "npt" flag older kernels (2.6.2x, which tested CPUID themselves) did not list: taken from 3.0 on, or the
    // prefixed forms of 5.x and later.
    set('svm', true);
    if (m[1] === 'enabled' && (/^(?:SVM|kvm_amd): /.test(t) || before(3, 0) === false)) set('npt', true);
  } else if (/^kvm: (?:disabled by bios|support for '(?:kvm_intel|kvm_amd)' disabled by bios)$/.test(t)) {
    // The module passed its "hardware support" check (the CPU has VT) and then found it disabled by the firmware.
    if (module === 'kvm_amd') {
      set('svm', true); // has_svm() tested the svm flag
      firmware('AMD-V (VM_CR.SVMDIS)');
    } else if (module === 'kvm_intel') {
      // Intel kernels from 5.6 clear vmx when firmware locked VMX off (feat_ctl.c); older ones show it.
      const old = before(5, 6);
      if (old !== null) set('vmx', old);
      firmware('VT-x (IA32_FEATURE_CONTROL)');
    } else firmware('VT-x or AMD-V (which one: the log names no CPU vendor)');
  } else if ((m = /^kvm: no hardware support for '(kvm_intel|kvm_amd)'$/.exec(t))) {
    set(m[1] === 'kvm_intel' ? 'vmx' : 'svm', false);
  } else if (/^kvm_intel: VMX not supported by CPU \d+$/.test(t)) {
    set('vmx', false); // raw CPUID has no VMX, so neither has the flags line
  } else if (/^kvm_intel: VMX not enabled \(by BIOS\) in MSR_IA32_FEAT_CTL on CPU \d+$/.test(t)) {
    set('vmx', false); // 6.4+: feat_ctl.c cleared it
    firmware('VT-x (IA32_FEATURE_CONTROL)');
  } else if (/^kvm_amd: SVM not supported by CPU \d+(?:, .*)?$/.test(t)) {
    set('svm', false);
  } else if (/^kvm_amd: SVM disabled \(by BIOS\) in MSR_VM_CR(?: on CPU \d+)?$/.test(t)) {
    firmware('AMD-V (VM_CR.SVMDIS)');
  } else if (/^x86\/cpu: VMX \((?:outside|inside) TXT\) disabled by BIOS$/.test(t)) {
    set('vmx', false); // feat_ctl.c clears vmx right after this message
    firmware('VT-x (IA32_FEATURE_CONTROL)');
  }
}
