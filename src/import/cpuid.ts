// The output of virt-what's virt-what-cpuid-helper, kept as `cpuid-hypervisor-signature.txt` (the corpus name; the
// helper's own name is taken too): the text of a CPUID hypervisor leaf's EBX, ECX and EDX - 12 bytes, cut at the
// first NUL - and a newline. It is recognized by its name, since a signature cannot be told from other text. It
// becomes a /dev/cpu/0/cpuid capture (the format src/probe/cpu.ts reads) holding just leaf 0x40000000, with EAX,
// which the helper does not print, as 0. Which leaf the text came from depends on the helper's version: the first
// ones print leaf 0x40000000, later ones every leaf up to the maximum EAX names, one line each, and current ones
// only the highest leaf 0x40000000 + n*0x100 whose text is a signature they know - under a hypervisor that also
// offers Hyper-V's interface ("Microsoft Hv" at 0x40000000) that is the hypervisor's own leaf above it. The first
// line is taken as leaf 0x40000000 and the manifest says so.
import { formatCpuidCapture } from '../probe/cpu.ts';
import { emptyParsed } from './_model.ts';
import type { Parsed } from './_model.ts';

export const CPUID_CAPTURE = 'dev/cpu/0/cpuid';

export function isCpuidSignatureFile(relPath: string): boolean {
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  return /^(?:cpuid-hypervisor-signature|virt-what-cpuid-helper)(?:\.txt)?$/.test(name);
}

export function parseCpuidSignature(content: string, file: string): Parsed {
  const parsed = emptyParsed('virt-what-cpuid-helper');
  const lines = content.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n');
  const signature = lines[0]!;
  if (lines.length === 1 && signature === '') {
    parsed.notes.push(`${file}: the helper printed no signature (bare metal, or a hypervisor it does not know)`);
    return parsed;
  }
  // puts() stops at the first NUL, so a signature is 1 to 12 bytes; '?' is what a copy shows for a byte it could
  // not print, so such a signature is not the bytes the CPU returned.
  if (signature.length > 12 || !/^[\x20-\x3e\x40-\x7e]+$/.test(signature)) {
    const message = `${JSON.stringify(signature)} is not a CPUID signature (1 to 12 printable characters); skipped`;
    parsed.issues.push({ file, line: 1, message });
    return parsed;
  }
  const bytes = Buffer.alloc(12);
  bytes.write(signature, 'latin1');
  const reg = (i: number) => bytes.readUInt32LE(i * 4).toString(16).padStart(8, '0');
  const leaf = { leaf: '40000000', subleaf: '00000000', eax: '00000000', ebx: reg(0), ecx: reg(1), edx: reg(2) };
  parsed.files[CPUID_CAPTURE] = formatCpuidCapture([leaf]);
  parsed.used.push('cpu.cpuid.40000000');
  parsed.notes.push(
    `${file}: /dev/cpu/0/cpuid holds only leaf 40000000, EBX ECX EDX from the signature ${JSON.stringify(signature)}` +
      ' (the leaf the helper found it in, taken as 40000000) and EAX 00000000 (not in the helper output)',
  );
  if (lines.length > 1) parsed.notes.push(`${file}: ${lines.length - 1} further lines (higher leaves) not taken`);
  return parsed;
}
