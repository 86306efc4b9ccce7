// The CPU: /proc/cpuinfo, raw CPUID and a few MSRs. The point is the hardware-virtualization verdict: since Linux
// 5.6 the kernel removes `vmx` from the flags when firmware locked VMX off (feat_ctl.c), so "no vmx flag" alone
// cannot tell "absent" from "disabled"; only raw CPUID (the CPU has it) and the MSR (firmware's lock) can. Where the
// kernel release is unknown (an imported log without uname), the running kernel's major.minor still shows in the
// bcdDevice of its USB root hubs (rootHubKernel below), which is all that rule needs.
import type { Cpu, CpuidLeaf, HapState, VtState } from '../types.ts';
import { LARGE_FILE_CAP, type Reader } from './_reader.ts';
import { countsFrom } from './machine-cpus.ts';

const CPUINFO = '/proc/cpuinfo';
const CPUID_DEV = '/dev/cpu/0/cpuid';
const MSR_DEV = '/dev/cpu/0/msr';
/**
 * Leaves read from the cpuid device, subleaf 0: vendor, features, extended max, extended features, hypervisor, SVM
 * features (NPT; read only where the extended maximum reaches it: Intel's stops at 0x80000008).
 */
export const CPUID_LEAVES = [0x0, 0x1, 0x80000000, 0x80000001, 0x40000000, 0x8000000a] as const;
/** IA32_FEATURE_CONTROL (Intel, Centaur, Zhaoxin) and AMD's VM_CR (AMD, Hygon). */
const MSR_FEATURE_CONTROL = 0x3a;
const MSR_VM_CR = 0xc0010114;
/**
 * The VMX capability MSRs that tell EPT (Intel SDM Vol. 3 Appendix A.3): IA32_VMX_PROCBASED_CTLS, whose bit 63 (the
 * allowed-1 setting of bit 31) says secondary controls can be activated, and IA32_VMX_PROCBASED_CTLS2, whose bit 33
 * (the allowed-1 setting of bit 1, "enable EPT") says EPT can. The second is read only when the first allows it.
 */
const MSR_VMX_PROCBASED_CTLS = 0x482;
const MSR_VMX_PROCBASED_CTLS2 = 0x48b;

export interface CpuProbeOptions {
  /** uname machine; undefined: read /proc/sys/kernel/arch; null: unknown. */
  arch?: string | null;
  /** Kernel release; undefined: read /proc/sys/kernel/osrelease; null: unknown. */
  kernelRelease?: string | null;
}

export async function probeCpu(reader: Reader, options: CpuProbeOptions = {}): Promise<Cpu> {
  const arch = options.arch !== undefined ? options.arch : await oneLine(reader, '/proc/sys/kernel/arch');
  const release =
    options.kernelRelease !== undefined ? options.kernelRelease : await oneLine(reader, '/proc/sys/kernel/osrelease');

  const text = await reader.text(CPUINFO, { cap: LARGE_FILE_CAP });
  const info = parseCpuinfo(text ?? '', (message) => reader.diag('malformed', CPUINFO, `${CPUINFO}: ${message}`));
  if (text === '') reader.diag('malformed', CPUINFO, `${CPUINFO}: empty`);

  const cpuid = await readCpuid(reader);
  const msr = await readMsr(reader, info.vendor);

  const flag = (name: string): boolean | null => flagIn(info, name);
  const basic = findLeaf(cpuid, 0x1);
  const ext = validExtendedLeaf(cpuid);
  // Running under some hypervisor (the flag, or CPUID.1:ECX[31]): then a missing flag or the CPU's model tells only
  // what this guest is offered.
  const underHypervisor = info.flags.includes('hypervisor') || (basic !== undefined && bit(basic.ecx, 31));
  const kernel = release !== null ? kernelOf(release) : await rootHubKernel(reader);
  const vt = decideVt({ info, basic, ext, cpuid, msr, kernel, underHypervisor });

  return {
    arch,
    vendor: info.vendor,
    family: info.family,
    model: info.model,
    stepping: info.stepping,
    modelName: info.modelName,
    logicalCpus: info.logicalCpus,
    cores: info.cores,
    packages: info.packages,
    // The machine's counts on bare metal and in a guest; in a Xen Dom0 probe.ts replaces them (machine-cpus.ts).
    countsFrom: countsFrom(info, { logicalCpus: 'cpuinfo', cores: 'cpuinfo', packages: 'cpuinfo' }, []),
    flags: info.flags,
    vmxFlags: info.vmxFlags,
    flagsKnown: info.flagsKey === 'flags' || info.flagsKey === 'Features',
    flagsAbsent: info.flagsAbsent,
    vt,
    // The model tells only on bare metal: in a guest the hypervisor decides what it offers, whatever the model.
    hap: underHypervisor ? decideHap(info, vt, cpuid, ext, msr) : withModelHap(decideHap(info, vt, cpuid, ext, msr), { ...info, vt }),
    longMode: either(flag('lm'), ext && bit(ext.edx, 29)),
    pae: either(flag('pae'), basic && bit(basic.edx, 6)),
    hypervisorFlag: either(flag('hypervisor'), basic && bit(basic.ecx, 31)),
    cpuid,
    msr,
  };
}

async function oneLine(reader: Reader, path: string): Promise<string | null> {
  const value = (await reader.attr(path))?.trim();
  return value ? value : null;
}

/** Whether an x86 flag is in the flags line: known from the whole line or a partial statement; null when unknown. */
function flagIn(info: CpuinfoFacts, name: string): boolean | null {
  if (info.flagsKey === 'flags') return info.flags.includes(name);
  if (info.flagsKey !== PARTIAL_FLAGS) return null;
  return info.flags.includes(name) ? true : info.flagsAbsent.includes(name) ? false : null;
}

/** true if either source says so, false if a known source says no, null when neither is known. */
function either(a: boolean | null, b: boolean | null | undefined): boolean | null {
  if (a === true || b === true) return true;
  if (a === false || b === false) return false;
  return null;
}

function bit(hex: string, n: number): boolean {
  return ((Number.parseInt(hex, 16) >>> n) & 1) === 1;
}

// ---------------------------------------------------------------------------------------------------------------
// /proc/cpuinfo

export type CpuinfoFacts = Pick<
  Cpu,
  | 'vendor'
  | 'family'
  | 'model'
  | 'stepping'
  | 'modelName'
  | 'logicalCpus'
  | 'cores'
  | 'packages'
  | 'flags'
  | 'vmxFlags'
  | 'flagsAbsent'
> & {
  /**
   * Which key carried the flags: "flags" (x86), "Features" (ARM), "flags (partial)" (an imported tree's statement
   * about a few x86 flags, see PARTIAL_FLAGS), null when none.
   */
  flagsKey: 'flags' | 'Features' | typeof PARTIAL_FLAGS | null;
};

/**
 * A line no kernel prints, written by `autoconfig import` where a log tells only whether some flags are in the flags
 * line (lscpu without a Flags line, src/import/cpuinfo.ts): "+lm -vmx -svm", each flag known in (+) or not in (-) the
 * flags line of the first CPU, every other flag unknown. Read only when there is no flags line.
 */
export const PARTIAL_FLAGS = 'flags (partial)';

interface Field {
  value: string;
  line: number;
}

/** ARM "CPU implementer" codes (the kernel's arch/arm64/include/asm/cputype.h, util-linux lscpu-arm.c). */
const ARM_IMPLEMENTERS: Record<string, string> = {
  '0x41': 'ARM',
  '0x42': 'Broadcom',
  '0x43': 'Cavium',
  '0x46': 'Fujitsu',
  '0x48': 'HiSilicon',
  '0x4e': 'NVIDIA',
  '0x50': 'APM',
  '0x51': 'Qualcomm',
  '0x53': 'Samsung',
  '0x56': 'Marvell',
  '0x61': 'Apple',
  '0x70': 'Phytium',
  '0xc0': 'Ampere',
};

/** Parses what is there; every line it cannot use is reported through `problem` with its line number. */
export function parseCpuinfo(text: string, problem: (message: string) => void): CpuinfoFacts {
  const lines = text.split('\n');
  // The kernel ends every line with \n: a last line without one was cut (a truncated copy) and is not trusted.
  const last = lines.pop() ?? '';
  if (last !== '') problem(`line ${lines.length + 1}: cut off (no newline at the end), not used`);

  const blocks: Map<string, Field>[] = [];
  let current = new Map<string, Field>();
  const flush = () => {
    if (current.size > 0) blocks.push(current);
    current = new Map();
  };
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return flush();
    const colon = raw.indexOf(':');
    if (colon < 0) return problem(`line ${line}: no ':' in ${JSON.stringify(raw.slice(0, 40))}`);
    const key = raw.slice(0, colon).trim();
    if (key === 'processor' && current.has('processor')) flush();
    if (!current.has(key)) current.set(key, { value: raw.slice(colon + 1).trim(), line });
  });
  flush();

  const cpus = blocks.filter((b) => b.has('processor'));
  const first = cpus[0] ?? blocks[0] ?? new Map<string, Field>();
  const int = (block: Map<string, Field>, key: string, quiet: string[] = []): number | null => {
    const field = block.get(key);
    if (field === undefined || quiet.includes(field.value)) return null;
    if (/^\d+$/.test(field.value)) return Number(field.value);
    problem(`line ${field.line}: ${key} ${JSON.stringify(field.value)} is not a number`);
    return null;
  };

  const flagsBlock = cpus.find((b) => b.has('flags')) ?? blocks.find((b) => b.has('flags'));
  const featuresBlock = blocks.find((b) => b.has('Features'));
  const partialField = flagsBlock || featuresBlock ? undefined : first.get(PARTIAL_FLAGS);
  const flagsKey = flagsBlock ? 'flags' : featuresBlock ? 'Features' : partialField ? PARTIAL_FLAGS : null;
  const words = (field: Field | undefined) => (field?.value ?? '').split(/\s+/).filter((w) => w !== '');
  const partial = { present: [] as string[], absent: [] as string[] };
  for (const word of words(partialField)) {
    const m = /^([+-])([a-z0-9_]+)$/.exec(word);
    if (m) (m[1] === '+' ? partial.present : partial.absent).push(m[2]!);
    else problem(`line ${partialField!.line}: ${PARTIAL_FLAGS} ${JSON.stringify(word)} is not +flag or -flag`);
  }
  const implementer = first.get('CPU implementer')?.value.toLowerCase();

  // Topology: distinct (physical id, core id) pairs = the sum over packages of their distinct core ids.
  const packages = new Set<number>();
  const pairs = new Set<string>();
  for (const block of cpus) {
    const pkg = int(block, 'physical id');
    const core = int(block, 'core id');
    if (pkg !== null) packages.add(pkg);
    if (pkg !== null && core !== null) pairs.add(`${pkg}:${core}`);
  }
  const cpuCores = int(first, 'cpu cores');
  const packageCount = packages.size > 0 ? packages.size : null;

  return {
    vendor: first.get('vendor_id')?.value || (implementer ? (ARM_IMPLEMENTERS[implementer] ?? implementer) : null),
    family: int(first, 'cpu family'),
    model: int(first, 'model'),
    // The kernel prints "unknown" for a CPU without CPUID's stepping (proc.c): not a format error.
    stepping: int(first, 'stepping', ['unknown']),
    modelName: first.get('model name')?.value || null,
    logicalCpus: cpus.length > 0 ? cpus.length : null,
    cores: pairs.size > 0 ? pairs.size : cpuCores !== null && packageCount !== null ? cpuCores * packageCount : null,
    packages: packageCount,
    flags: flagsKey === PARTIAL_FLAGS ? partial.present : words(flagsBlock?.get('flags') ?? featuresBlock?.get('Features')),
    vmxFlags: words(flagsBlock?.get('vmx flags')),
    flagsAbsent: flagsKey === PARTIAL_FLAGS ? partial.absent : [],
    flagsKey,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw CPUID and MSR: a character device on a live machine, a text capture in a snapshot.

const HEX8 = /^[0-9a-f]{8}$/;

export function formatCpuidCapture(leaves: CpuidLeaf[]): string {
  const lines = leaves.map((l) => [l.leaf, l.subleaf, l.eax, l.ebx, l.ecx, l.edx].join(' '));
  return `# /dev/cpu/0/cpuid capture: LEAF SUBLEAF EAX EBX ECX EDX (hex)\n${lines.join('\n')}\n`;
}

export function parseCpuidCapture(text: string): { leaves: CpuidLeaf[]; problems: string[] } {
  const leaves: CpuidLeaf[] = [];
  const problems: string[] = [];
  captureLines(text).forEach(([line, fields]) => {
    const values = fields.map((f) => f.toLowerCase());
    if (values.length !== 6 || !values.every((v) => HEX8.test(v))) {
      problems.push(`line ${line}: expected LEAF SUBLEAF EAX EBX ECX EDX as 8 hex digits each`);
      return;
    }
    const [leaf, subleaf, eax, ebx, ecx, edx] = values as [string, string, string, string, string, string];
    leaves.push({ leaf, subleaf, eax, ebx, ecx, edx });
  });
  return { leaves, problems };
}

export function formatMsrCapture(msr: Record<string, string>): string {
  const lines = Object.entries(msr).map(([address, value]) => `${address} ${value}`);
  return `# /dev/cpu/0/msr capture: ADDRESS VALUE (hex)\n${lines.join('\n')}\n`;
}

export function parseMsrCapture(text: string): { msr: Record<string, string>; problems: string[] } {
  const msr: Record<string, string> = {};
  const problems: string[] = [];
  captureLines(text).forEach(([line, fields]) => {
    const [address, value] = fields.map((f) => f.toLowerCase());
    if (fields.length !== 2 || !/^[0-9a-f]{1,8}$/.test(address!) || !/^[0-9a-f]{1,16}$/.test(value!)) {
      problems.push(`line ${line}: expected ADDRESS VALUE in hex`);
      return;
    }
    msr[msrKey(Number.parseInt(address!, 16))] = value!.padStart(16, '0');
  });
  return { msr, problems };
}

/** [line number, whitespace-separated fields] of the lines that carry data ('#' starts a comment). */
function captureLines(text: string): [number, string[]][] {
  return text
    .split('\n')
    .map((raw, index): [number, string[]] => [index + 1, raw.replace(/#.*/, '').trim().split(/\s+/)])
    .filter(([, fields]) => fields[0] !== '');
}

function msrKey(address: number): string {
  return address.toString(16);
}

function hex8(leaf: number): string {
  return leaf.toString(16).padStart(8, '0');
}

async function readCpuid(reader: Reader): Promise<CpuidLeaf[]> {
  if (await reader.isCharDevice(CPUID_DEV)) {
    const leaves: CpuidLeaf[] = [];
    for (const leaf of CPUID_LEAVES) {
      const max = leaves.find((l) => l.leaf === '80000000');
      if (leaf === 0x8000000a && !(max && Number.parseInt(max.eax, 16) >= leaf)) continue;
      // The cpuid driver takes the leaf as file position (subleaf in the high 32 bits) and returns EAX..EDX.
      const { data } = await reader.pread(CPUID_DEV, leaf, 16);
      // EACCES/ENOENT/EIO: unknown, no diagnostic (a timeout was already recorded by the reader); stop there.
      if (data === null) break;
      const view = new DataView(data.buffer, data.byteOffset, 16);
      const reg = (i: number) => hex8(view.getUint32(i * 4, true));
      leaves.push({ leaf: hex8(leaf), subleaf: '00000000', eax: reg(0), ebx: reg(1), ecx: reg(2), edx: reg(3) });
    }
    return leaves;
  }
  const text = await reader.text(CPUID_DEV);
  if (text === null) return [];
  const { leaves, problems } = parseCpuidCapture(text);
  for (const p of problems) reader.diag('malformed', CPUID_DEV, `${CPUID_DEV} capture ${p}`);
  return leaves;
}

async function readMsr(reader: Reader, vendor: string | null): Promise<Record<string, string>> {
  const address = msrFor(vendor);
  if (address === null) return {};
  if (await reader.isCharDevice(MSR_DEV)) {
    const msr: Record<string, string> = {};
    // One read at a time, each within the reader's deadline; the first that fails (EIO: no such MSR on this CPU, or
    // a timeout) ends it. The VMX capability MSRs only where VMX's lock MSR answered (Intel and its licensees).
    const addresses = address === MSR_FEATURE_CONTROL ? [address, MSR_VMX_PROCBASED_CTLS, MSR_VMX_PROCBASED_CTLS2] : [address];
    for (const a of addresses) {
      if (a === MSR_VMX_PROCBASED_CTLS2 && !msrBit(msr, MSR_VMX_PROCBASED_CTLS, 63)) break;
      const { data } = await reader.pread(MSR_DEV, a, 8);
      if (data === null) break;
      msr[msrKey(a)] = new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true).toString(16).padStart(16, '0');
    }
    return msr;
  }
  const text = await reader.text(MSR_DEV);
  if (text === null) return {};
  const { msr, problems } = parseMsrCapture(text);
  for (const p of problems) reader.diag('malformed', MSR_DEV, `${MSR_DEV} capture ${p}`);
  return msr;
}

/** Bit n of a captured MSR; null when the MSR was not read. */
function msrBit(msr: Record<string, string>, address: number, n: number): boolean | null {
  const value = msr[msrKey(address)];
  return value === undefined ? null : ((BigInt(`0x${value}`) >> BigInt(n)) & 1n) === 1n;
}

function msrFor(vendor: string | null): number | null {
  switch (vendor) {
    case 'GenuineIntel':
    case 'CentaurHauls':
    case '  Shanghai  ':
      return MSR_FEATURE_CONTROL;
    case 'AuthenticAMD':
    case 'HygonGenuine':
      return MSR_VM_CR;
    default:
      return null;
  }
}

function findLeaf(cpuid: CpuidLeaf[], leaf: number): CpuidLeaf | undefined {
  return cpuid.find((l) => l.leaf === hex8(leaf) && l.subleaf === '00000000');
}

/** Leaf 0x80000001, only when leaf 0x80000000 says it exists (beyond the maximum the CPU returns other data). */
function validExtendedLeaf(cpuid: CpuidLeaf[]): CpuidLeaf | null {
  const max = findLeaf(cpuid, 0x80000000);
  const ext = findLeaf(cpuid, 0x80000001);
  if (!ext) return null;
  if (max && Number.parseInt(max.eax, 16) < 0x80000001) return null;
  return ext;
}

// ---------------------------------------------------------------------------------------------------------------
// The VT verdict (xen.md §4.2: kvm-ok's MSR logic and the modern-kernel trap).

interface VtFacts {
  info: CpuinfoFacts;
  basic: CpuidLeaf | undefined;
  ext: CpuidLeaf | null;
  cpuid: CpuidLeaf[];
  msr: Record<string, string>;
  /** The running kernel: its version for kernelBefore() and how the evidence names it; null when unknown. */
  kernel: { version: string; shown: string } | null;
  underHypervisor: boolean;
}

function decideVt({ info, basic, ext, cpuid, msr, kernel, underHypervisor: hypervisor }: VtFacts): Cpu['vt'] {
  const evidence: string[] = [];
  const result = (technology: 'vmx' | 'svm' | null, state: VtState) => ({ technology, state, evidence });
  if (info.flagsKey === null) evidence.push('no flags line in /proc/cpuinfo');
  if (info.flagsKey === 'Features') return evidence.push('not an x86 CPU'), result(null, 'unknown');
  if (info.flagsKey === PARTIAL_FLAGS) {
    const known = [...info.flags.map((f) => `${f} in it`), ...info.flagsAbsent.map((f) => `no ${f}`)];
    evidence.push(`the flags line is known only in part: ${known.join(', ')}`);
  }

  // true/false: the flags line has it or not; null: the line is unknown, or the partial statement does not say.
  const vmxFlag = flagIn(info, 'vmx');
  const svmFlag = flagIn(info, 'svm');
  const flagVmx = vmxFlag === true;
  const flagSvm = svmFlag === true;
  const neitherFlag = vmxFlag === false && svmFlag === false;
  const cpuidVmx = basic ? bit(basic.ecx, 5) : null;
  // A maximum extended leaf below 0x80000001 means "no SVM"; a leaf missing from a capture means unknown.
  const extMax = findLeaf(cpuid, 0x80000000);
  const cpuidSvm = ext ? bit(ext.ecx, 2) : extMax && Number.parseInt(extMax.eax, 16) < 0x80000001 ? false : null;
  if (flagVmx) evidence.push('cpuinfo flag vmx');
  if (flagSvm) evidence.push('cpuinfo flag svm');
  if (cpuidVmx !== null) evidence.push(`CPUID.1:ECX[5] (VMX) ${cpuidVmx ? 'set' : 'clear'}`);
  if (cpuidSvm !== null) evidence.push(`CPUID.80000001:ECX[2] (SVM) ${cpuidSvm ? 'set' : 'clear'}`);

  const lock = msrVerdict(msr, evidence);
  const oldKernel = kernelBefore(kernel?.version ?? null, 5, 6);

  let technology: 'vmx' | 'svm' | null =
    flagVmx || cpuidVmx ? 'vmx' : flagSvm || cpuidSvm ? 'svm' : null;
  // IA32_FEATURE_CONTROL / VM_CR answer only on CPUs with VMX/SMX resp. SVM, so a readable lock names the
  // technology; a hypervisor may fake the MSR for a guest that has none, so not under one.
  if (technology === null && lock !== null && lock.disabled && !hypervisor) technology = lock.technology;
  if (technology === null) {
    if (cpuidVmx === false && cpuidSvm === false) return result(null, 'absent');
    if (hypervisor) {
      evidence.push('running under a hypervisor: a missing flag only says this guest is not offered VT');
      return result(null, 'unknown');
    }
    if (neitherFlag && oldKernel === true) {
      evidence.push(`kernel ${kernel!.shown} is older than 5.6 and never hides vmx`);
      return result(null, 'absent');
    }
    if (neitherFlag) evidence.push('neither vmx nor svm in the flags; kernels >= 5.6 hide a locked-off vmx');
    return result(null, 'unknown');
  }

  const lockHere = lock !== null && lock.technology === technology ? lock : null;
  if (lockHere?.disabled) return result(technology, 'disabled-by-firmware');
  const flagPresent = technology === 'vmx' ? flagVmx : flagSvm;
  if (flagPresent) {
    // The flag alone says firmware left VT on only where a kernel hides it otherwise: Intel from 5.6 (feat_ctl.c
    // clears vmx when IA32_FEATURE_CONTROL locks VMX off). Older or unknown kernels show vmx either way, and no
    // kernel hides svm when VM_CR.SVMDIS is set (xen.md §4.2); then only the MSR (lockHere) settles it.
    if (lockHere !== null) return result(technology, 'enabled');
    // feat_ctl.c fills the `vmx flags` line (init_vmx_capabilities()) only on the branch where VMX stays enabled, the
    // other one clearing vmx (torvalds/linux arch/x86/kernel/cpu/feat_ctl.c, e.g. at 0b500f5b168c).
    if (technology === 'vmx' && info.vmxFlags.length > 0) {
      evidence.push('a `vmx flags` line: its kernel lists VMX features only when firmware left VMX enabled');
      return result(technology, 'enabled');
    }
    if (technology === 'vmx' && oldKernel === false) {
      evidence.push(`kernel ${kernel!.shown} (>= 5.6) would have cleared vmx had firmware locked VMX off`);
      return result(technology, 'enabled');
    }
    evidence.push(
      technology === 'svm'
        ? 'Linux shows svm even when firmware set SVMDIS (MSR VM_CR 0xc0010114, not read)'
        : oldKernel === true
          ? `kernel ${kernel!.shown} is older than 5.6: it shows vmx even when firmware locked VMX off (MSR 0x3a, not read)`
          : 'kernel version unknown: one older than 5.6 shows vmx even when firmware locked VMX off (MSR 0x3a, not read)',
    );
    return result(technology, 'unverified');
  }
  // The CPU has it (CPUID) but the flags do not show it, or are not known to.
  if ((technology === 'vmx' ? vmxFlag : svmFlag) === null) return result(technology, lockHere ? 'enabled' : 'unknown');
  if (technology === 'vmx' && oldKernel !== true && lockHere === null) {
    evidence.push('vmx missing from the flags while CPUID has it: kernels >= 5.6 clear it when VMX is locked off');
    return result(technology, 'disabled-by-firmware');
  }
  evidence.push(`${technology} missing from the flags while CPUID has it, for no known reason`);
  return result(technology, 'unknown');
}

// ---------------------------------------------------------------------------------------------------------------
// Hardware-assisted paging (EPT/NPT): what HVM guests need on a Xen without shadow paging (xen-review.md "HVM and
// paging"). Linux shows both as flags: Intel's ept among the synthetic VMX flags of the flags line (word 8, with
// tpr_shadow vnmi flexpriority vpid) and, on newer kernels, in the `vmx flags` line; AMD's npt with the other SVM
// features of CPUID 0x8000000A EDX (word 15: npt lbrv svm_lock nrip_save ...). A missing ept/npt says "absent" only
// where this kernel demonstrably lists that family of flags: one of its siblings shows, or the `vmx flags` line
// exists. The first kernel release to list ept is not verified here, so a release number alone proves nothing.

/** Synthetic VMX flags listed beside ept by the same kernels (Linux cpufeatures.h word 8). */
const EPT_SIBLINGS = ['tpr_shadow', 'vnmi', 'flexpriority', 'vpid'];
/** SVM features from the same CPUID leaf as npt (Linux cpufeatures.h word 15). */
const NPT_SIBLINGS = ['lbrv', 'svm_lock', 'nrip_save', 'tsc_scale', 'vmcb_clean', 'flushbyasid', 'decodeassists', 'pausefilter', 'pfthreshold', 'avic', 'v_vmsave_vmload', 'vgif'];

function hapFeature(vt: Cpu['vt']): Cpu['hap']['feature'] {
  return vt.technology === 'vmx' ? 'ept' : vt.technology === 'svm' ? 'npt' : null;
}

function decideHap(
  info: CpuinfoFacts,
  vt: Cpu['vt'],
  cpuid: CpuidLeaf[],
  ext: CpuidLeaf | null,
  msr: Record<string, string>,
): Cpu['hap'] {
  const evidence: string[] = [];
  const feature = hapFeature(vt);
  const result = (state: HapState) => ({ state, feature, evidence });
  if (vt.state === 'absent') return evidence.push('the CPU has no VT-x/AMD-V, so no EPT/NPT either'), result('absent');
  if (feature === null) return evidence.push('whether the CPU has VT-x or AMD-V is unknown, so EPT/NPT are too'), result('unknown');

  const listed = (f: string) => info.flags.includes(f) || info.vmxFlags.includes(f);
  if (info.flags.includes(feature)) return evidence.push(`cpuinfo flag ${feature}`), result('present');
  if (info.vmxFlags.includes(feature)) return evidence.push(`\`vmx flags\` ${feature}`), result('present');
  // CPUID 0x8000000A EDX[0] is NPT; the leaf means that only when SVM is set and the extended maximum reaches it.
  if (feature === 'npt') {
    const max = findLeaf(cpuid, 0x80000000);
    const svmLeaf = findLeaf(cpuid, 0x8000000a);
    if (svmLeaf && max && Number.parseInt(max.eax, 16) >= 0x8000000a && ext && bit(ext.ecx, 2)) {
      const npt = bit(svmLeaf.edx, 0);
      evidence.push(`CPUID.8000000A:EDX[0] (NPT) ${npt ? 'set' : 'clear'}`);
      return result(npt ? 'present' : 'absent');
    }
  }
  // The VMX capability MSRs state what the CPU (or, in a guest, its hypervisor) allows, whatever the firmware lock.
  if (feature === 'ept') {
    const secondary = msrBit(msr, MSR_VMX_PROCBASED_CTLS, 63);
    const ept = msrBit(msr, MSR_VMX_PROCBASED_CTLS2, 33);
    if (secondary === false) {
      evidence.push('MSR 0x482 (IA32_VMX_PROCBASED_CTLS) bit 63 clear: no secondary controls, so no EPT');
      return result('absent');
    }
    if (ept !== null) {
      evidence.push(`MSR 0x48b (IA32_VMX_PROCBASED_CTLS2) bit 33 (enable EPT) ${ept ? 'set' : 'clear'}`);
      return result(ept ? 'present' : 'absent');
    }
  }
  if (info.flagsAbsent.includes(feature)) return evidence.push(`no ${feature} in the flags line`), result('absent');
  if (info.flagsKey !== 'flags') {
    evidence.push(info.flagsKey === null ? 'no flags line in /proc/cpuinfo' : `the flags line is not known whole: ${feature} unknown`);
    return result('unknown');
  }
  // The flags line is whole. Where VT is hidden or locked off, a kernel may leave out its sub-features too.
  if (vt.state !== 'enabled' && vt.state !== 'unverified') {
    evidence.push(`VT is ${vt.state}: a missing ${feature} flag proves nothing`);
    return result('unknown');
  }
  const siblings = (feature === 'ept' ? EPT_SIBLINGS : NPT_SIBLINGS).filter(listed);
  if (feature === 'ept' && info.vmxFlags.length > 0) siblings.push('a `vmx flags` line');
  if (siblings.length > 0) {
    evidence.push(`no ${feature} although this kernel lists its kind (${siblings.join(', ')})`);
    return result('absent');
  }
  evidence.push(
    `no ${feature} and none of ${(feature === 'ept' ? EPT_SIBLINGS : NPT_SIBLINGS.slice(0, 3)).join('/')}: ` +
      `this kernel may not list ${feature} at all`,
  );
  return result('unknown');
}

/**
 * The HAP verdict of a Xen Dom0: unknown. Its CPU flags are Xen's filtered view (no vmx/svm, so no ept/npt), and
 * Xen's capabilities do not tell: hvm_enable() sets hvm_enabled, hence the hvm-* entries, as soon as VT-x/AMD-V
 * starts, with or without HAP, and a Xen without shadow paging then fails each HVM domain at creation instead
 * (xen.git RELEASE-4.17.0 xen/arch/x86/hvm/hvm.c hvm_enable(), domain.c arch_sanitise_domain_config()). Xen's own
 * `xl info` (virt_caps: hap) and `xl dmesg` ("HVM: Hardware Assisted Paging (HAP) detected") say it.
 */
export function dom0Hap(cpu: Pick<Cpu, 'vt' | 'vendor' | 'family' | 'model'>, machineVirtual = false): Cpu['hap'] {
  const feature = hapFeature(cpu.vt);
  const unknown: Cpu['hap'] = {
    state: 'unknown',
    feature,
    evidence: [
      "in a Xen Dom0 the CPU flags are Xen's filtered view, and Xen lists hvm-* with or without EPT/NPT: " +
        'unknown from them (xl info: virt_caps lists hap)',
    ],
  };
  // Only where Xen enabled VT-x/AMD-V (dom0Vt): then the CPU's identity, which Xen passes on unfiltered, may tell;
  // not where the machine Xen runs on is itself a virtual one (its DMI names a hypervisor): there that hypervisor
  // decides what the CPU offers, whatever the model (QEMU's qemu64 is a K8 by its model, and offers NPT on request).
  if (machineVirtual) {
    return { ...unknown, evidence: [...unknown.evidence, 'this machine is itself virtual (DMI), so its CPU model does not tell'] };
  }
  return withModelHap(unknown, cpu);
}

// The last source, where the CPU's own statements are missing (a kernel that lists neither ept nor its siblings, a
// Dom0's filtered flags): its identity. EPT came with Nehalem (family 6 model 0x1a, 2008) and is in every later Intel
// core with VT-x, the Atoms from Silvermont on included; Core/Core 2 and Bonnell/Saltwell Atoms have VT-x without it,
// NetBurst (family 15) too (Intel ARK's "Intel VT-x with Extended Page Tables" column; model numbers from Linux's
// arch/x86/include/asm/intel-family.h). AMD's nested paging (RVI) came with family 10h (Barcelona, 2007) and is in
// every later family; K8 (family 0Fh) has AMD-V without it (AMD's "AMD-V Nested Paging" white paper, 2008); Hygon's
// Dhyana is a Zen (family 18h). Any other vendor or model stays unknown.
const INTEL_VT_WITHOUT_EPT = new Map<number, string>([
  [0x0e, 'Core (Yonah)'],
  [0x0f, 'Core 2 (Merom)'],
  [0x16, 'Core 2 (Merom-L)'],
  [0x17, 'Core 2 (Penryn)'],
  [0x1d, 'Xeon 7400 (Dunnington)'],
  [0x1c, 'Atom (Bonnell)'],
  [0x26, 'Atom (Bonnell, Lincroft)'],
  [0x27, 'Atom (Saltwell, Penwell)'],
  [0x35, 'Atom (Saltwell, Cloverview)'],
  [0x36, 'Atom (Saltwell, Cedarview)'],
]);

/** EPT/NPT from the CPU's vendor, family and model, or null when they do not tell. */
export function modelHap(cpu: Pick<Cpu, 'vendor' | 'family' | 'model'>): { state: 'present' | 'absent'; why: string } | null {
  const { vendor, family, model } = cpu;
  if (family === null) return null;
  const hex = (n: number) => `0x${n.toString(16)}`;
  if (vendor === 'GenuineIntel') {
    if (family === 15) return { state: 'absent', why: 'Intel family 15 (NetBurst) predates EPT' };
    if (family !== 6 || model === null) return null;
    const old = INTEL_VT_WITHOUT_EPT.get(model);
    if (old !== undefined) return { state: 'absent', why: `Intel family 6 model ${hex(model)}, ${old}: VT-x without EPT` };
    if (model >= 0x1a) return { state: 'present', why: `Intel family 6 model ${hex(model)}: Nehalem or later, every one with VT-x has EPT` };
    return null;
  }
  if (vendor === 'AuthenticAMD') {
    if (family === 0x0f) return { state: 'absent', why: 'AMD family 0Fh (K8): AMD-V without nested paging' };
    if (family >= 0x10) return { state: 'present', why: `AMD family ${hex(family)}: every AMD-V CPU from family 10h on has nested paging` };
    return null;
  }
  if (vendor === 'HygonGenuine' && family >= 0x18) return { state: 'present', why: `Hygon family ${hex(family)} (Zen): nested paging` };
  return null;
}

/** An unknown verdict settled by the CPU's model, where VT is usable (locked off, a missing flag proves nothing). */
function withModelHap(hap: Cpu['hap'], cpu: Pick<Cpu, 'vendor' | 'family' | 'model' | 'vt'>): Cpu['hap'] {
  if (hap.state !== 'unknown' || hap.feature === null || (cpu.vt.state !== 'enabled' && cpu.vt.state !== 'unverified')) return hap;
  const byModel = modelHap(cpu);
  if (byModel === null) return hap;
  return { state: byModel.state, feature: hap.feature, evidence: [...hap.evidence, `by the CPU model: ${byModel.why}`] };
}

/**
 * The VT verdict of a Xen Dom0. There the CPU flags and CPUID are Xen's filtered view: a pvops PV Dom0 shows no vmx
 * or svm, whatever the CPU has (xen.md §4.3; the QEMU boot of issue #9 §3 showed "hypervisor" but no svm in a Dom0 whose
 * Xen runs HVM guests with AMD-V), so they prove nothing either way. Xen's own capabilities do: it lists hvm-* only
 * when it enabled VT-x/AMD-V at boot (with or without EPT/NPT, see dom0Hap). Without an hvm-* entry Xen found none
 * it could use (the CPU lacks it, or the firmware disabled it), which `xl dmesg` tells apart: unknown here. Without
 * the list (no /sys/hypervisor/properties/capabilities), unknown too. The technology follows the vendor (VT-x is
 * Intel's and its licensees', AMD-V AMD's and Hygon's), else what the CPU's own evidence named.
 */
export function dom0Vt(cpu: Pick<Cpu, 'vendor' | 'vt'>, capabilities: readonly string[]): Cpu['vt'] {
  const hvm = capabilities.filter((c) => c.startsWith('hvm-'));
  const filtered =
    "in a Xen Dom0 the CPU flags and CPUID are what Xen lets it see, not the CPU's (a pvops PV Dom0 shows no vmx/svm): not used";
  const byVendor = VENDOR_TECHNOLOGY[cpu.vendor ?? ''] ?? cpu.vt.technology;
  if (hvm.length > 0) {
    const which = byVendor === 'svm' ? 'AMD-V' : byVendor === 'vmx' ? 'VT-x' : 'VT-x/AMD-V';
    return {
      technology: byVendor,
      state: 'enabled',
      evidence: [`Xen's capabilities list ${hvm.join(' ')}: Xen enabled ${which} at boot`, filtered],
    };
  }
  const why =
    capabilities.length > 0
      ? `Xen's capabilities (${capabilities.join(' ')}) offer no hvm-*: Xen found no VT-x/AMD-V it could use (the CPU ` +
        'lacks it, or the firmware disabled it; xl dmesg tells which)'
      : "Xen's capabilities are unknown (no /sys/hypervisor/properties/capabilities)";
  return { technology: cpu.vt.technology, state: 'unknown', evidence: [why, filtered] };
}

const VENDOR_TECHNOLOGY: Record<string, 'vmx' | 'svm'> = {
  GenuineIntel: 'vmx',
  CentaurHauls: 'vmx',
  '  Shanghai  ': 'vmx',
  AuthenticAMD: 'svm',
  HygonGenuine: 'svm',
};

function msrVerdict(
  msr: Record<string, string>,
  evidence: string[],
): { technology: 'vmx' | 'svm'; disabled: boolean } | null {
  const fc = msr[msrKey(MSR_FEATURE_CONTROL)];
  if (fc !== undefined) {
    const value = BigInt(`0x${fc}`);
    const locked = (value & 1n) === 1n;
    const outsideSmx = (value & 4n) === 4n;
    const shown = `MSR 0x3a = 0x${value.toString(16)}`;
    if (!locked) evidence.push(`${shown}: unlocked, the OS may still enable VMX`);
    else if (outsideSmx) evidence.push(`${shown}: locked with VMX outside SMX enabled`);
    else evidence.push(`${shown}: locked with VMX outside SMX clear (firmware, or a kernel without KVM_INTEL)`);
    return { technology: 'vmx', disabled: locked && !outsideSmx };
  }
  const vmcr = msr[msrKey(MSR_VM_CR)];
  if (vmcr !== undefined) {
    const value = BigInt(`0x${vmcr}`);
    const svmdis = (value & 0x10n) === 0x10n;
    evidence.push(`MSR 0xc0010114 = 0x${value.toString(16)}: SVMDIS ${svmdis ? 'set' : 'clear'}`);
    return { technology: 'svm', disabled: svmdis };
  }
  return null;
}

function kernelOf(release: string): { version: string; shown: string } {
  return { version: release, shown: release };
}

// Linux's own root hubs (vendor 1d6b, Linux Foundation; 0001/0002/0003 the 1.1/2.0/3.0 root hub) carry the running
// kernel's version as their bcdDevice: drivers/usb/core/hcd.c, usb11/usb2/usb3_rh_dev_descriptor, "KERNEL_VER,
// KERNEL_REL, /*  __le16 bcdDevice */" with KERNEL_REL = bin2bcd(major) and KERNEL_VER = bin2bcd(patchlevel)
// (torvalds/linux at 0043325495222139daa0696db736f67658dc7770; LINUX_VERSION_MAJOR/PATCHLEVEL today). Older kernels
// stored the two numbers in binary ((LINUX_VERSION_CODE >> 16) & 0xff), which differs only for a minor >= 10 and
// then shows a digit a-f: such a value is read as binary. Only root hubs: a gadget running Linux reports its own.
const ROOT_HUB_PRODUCTS = ['0001', '0002', '0003'];

/** The running kernel's major.minor from its USB root hubs, when they all agree; null otherwise. */
async function rootHubKernel(reader: Reader): Promise<{ version: string; shown: string } | null> {
  const hubs = ((await reader.list('/sys/bus/usb/devices')) ?? []).filter((name) => /^usb\d+$/.test(name));
  const seen = new Map<string, string>();
  for (const hub of hubs) {
    const dir = `/sys/bus/usb/devices/${hub}`;
    const [vendor, product, bcd] = await Promise.all(
      ['idVendor', 'idProduct', 'bcdDevice'].map(async (a) => (await reader.attr(`${dir}/${a}`))?.trim().toLowerCase()),
    );
    if (vendor !== '1d6b' || product === undefined || !ROOT_HUB_PRODUCTS.includes(product) || bcd === undefined) continue;
    const version = bcdKernelVersion(bcd);
    if (version !== null) seen.set(version, bcd);
  }
  if (seen.size !== 1) return null;
  const [[version, bcd]] = [...seen] as [[string, string]];
  const shown = `${version} (bcdDevice ${bcd} of the USB root hubs; the release itself is unknown)`;
  return { version, shown };
}

/**
 * "0503" -> "5.3"; "030a" (a kernel before bin2bcd) -> "3.10"; null when not 4 hex digits. Ambiguous for a
 * pre-bin2bcd minor of 16-19 ("0310" is binary 3.16 but reads as BCD 3.10): both are before 5.6, so the VT
 * verdict, the only user, is the same either way; only the evidence text may name the wrong minor.
 */
export function bcdKernelVersion(bcd: string): string | null {
  if (!/^[0-9a-f]{4}$/i.test(bcd)) return null;
  const radix = /^\d{4}$/.test(bcd) ? 10 : 16;
  return `${Number.parseInt(bcd.slice(0, 2), radix)}.${Number.parseInt(bcd.slice(2), radix)}`;
}

/** Whether the release ("2.6.18-238.el5", "6.1.0-18-amd64") is older than major.minor; null when unparsable. */
export function kernelBefore(release: string | null, major: number, minor: number): boolean | null {
  const match = release === null ? null : /^(\d+)\.(\d+)/.exec(release);
  if (!match) return null;
  const [a, b] = [Number(match[1]), Number(match[2])];
  return a < major || (a === major && b < minor);
}
