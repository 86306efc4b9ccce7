// inxi (smxi/inxi, `inxi -F`, `-C`, `-Cxx`, `-f`) without colours: sections "System:", "Machine:", "CPU:" ... at
// the start of a line, their "key: value" pairs after the name or on indented lines below (3.3: one pair list per
// line, indented 2, wrapped lines 4; 3.0: wrapped lines aligned under the first value). Read from the CPU section:
// - the flags ("Flags:", "flags:"): without -f inxi keeps only avx*, ht, lm, nx, pae, pni, sse*, ssse3, svm and vmx
//   of the kernel's flags line and shows pni as "sse3" (inxi 3.3.31 CpuItem, `@flags = grep {...}; s/pni/sse3/`),
//   with -f all of them; which CPU's line it shows is not said. So each flag listed is in the flags line (+flag, pni
//   for sse3) and one not listed is unknown: a partial statement, never "absent".
// - "family:", "model-id:", "stepping:" (with -xx; inxi's hex_and_decimal(): "0x19 (25)", or one digit where hex and
//   decimal agree): exact numbers of the cpuinfo fields.
// Not read: the model, which inxi's clean_cpu() rewords (it drops "CPU", "Processor", "N-Core", "Genuine", clock
// speeds ...), so it is not the name /proc/cpuinfo shows; it is noted.
import { emptyParsed, toLines } from './_model.ts';
import type { CpuFacts, Parsed, Stated } from './_model.ts';

const SECTION_RE = /^([A-Z][A-Za-z]*):(?:\s+(\S.*))?$/;

/**
 * inxi's output starts with a section name ("System:" for -F, "CPU:" for -C ...) alone or followed by its first
 * pairs after two spaces or more, and names the CPU as "model: <name> bits: 64" or lists its flags.
 */
export function detectInxi(lines: string[]): boolean {
  const first = lines.find((l) => l.trim() !== '') ?? '';
  if (!/^(?:System|Machine|Battery|Memory|CPU):(?:\s{2,}\S.*)?$/.test(first)) return false;
  const head = lines.slice(0, 400);
  return head.some((l) => /\bmodel: .* bits: (?:32|64)\b/.test(l) || /^\s+[Ff]lags: [a-z0-9_]+/.test(l));
}

interface Token {
  word: string;
  line: number;
  text: string;
}

export function parseInxi(text: string, file: string): Parsed {
  const parsed = emptyParsed('inxi');
  const tokens: Token[] = [];
  let inCpu = false;
  toLines(text).forEach((raw, index) => {
    const line = raw.replace(/\s+$/, '');
    const section = SECTION_RE.exec(line);
    if (section) {
      inCpu = section[1] === 'CPU';
      if (!inCpu || section[2] === undefined) return;
    } else if (!inCpu || !/^\s/.test(line)) return;
    for (const word of (section ? section[2]! : line).trim().split(/\s+/)) tokens.push({ word, line: index + 1, text: line.trim() });
  });
  const isKey = (t: Token | undefined) => t !== undefined && /:$/.test(t.word);
  /** The words of the value after key `name` (case-insensitive), up to the next key. */
  const valueOf = (name: string): Token[] | null => {
    const at = tokens.findIndex((t) => t.word.toLowerCase() === `${name}:`);
    if (at === -1) return null;
    const out: Token[] = [];
    for (let i = at + 1; i < tokens.length && !isKey(tokens[i]); i++) out.push(tokens[i]!);
    return out;
  };

  const cpu: CpuFacts = { flags: {} };
  const flags = valueOf('flags');
  if (flags !== null) {
    for (const t of flags) {
      // inxi 2.x (bash) put the list in parentheses.
      const word = t.word.replace(/^\(|\)$/g, '');
      if (!/^[a-z0-9_]+$/.test(word)) {
        parsed.issues.push({ file, line: t.line, message: `inxi flag ${JSON.stringify(word)} is not a flag name; skipped` });
        continue;
      }
      const flag = word === 'sse3' ? 'pni' : word;
      cpu.flags[flag] ??= { value: true, line: t.line, text: t.text };
    }
  }
  const number = (name: 'family' | 'model-id' | 'stepping'): Stated<number> | undefined => {
    const value = valueOf(name);
    if (value === null || value.length === 0) return undefined;
    const shown = value.map((t) => t.word).join(' ');
    const m = /^(?:0x([0-9A-Fa-f]+) \((\d+)\)|(\d))$/.exec(shown);
    const n = m === null ? null : m[3] !== undefined ? Number(m[3]) : Number.parseInt(m[1]!, 16);
    if (m === null || (m[2] !== undefined && Number(m[2]) !== n)) {
      parsed.issues.push({ file, line: value[0]!.line, message: `inxi ${name} ${JSON.stringify(shown)} is not "0xN (N)"; skipped` });
      return undefined;
    }
    return { value: n!, line: value[0]!.line, text: value[0]!.text };
  };
  const family = number('family');
  const model = number('model-id');
  const stepping = number('stepping');
  if (family) cpu.family = family;
  if (model) cpu.model = model;
  if (stepping) cpu.stepping = stepping;
  const name = valueOf('model');
  if (name !== null && name.length > 0) {
    const shown = name.map((t) => t.word).join(' ');
    parsed.notes.push(`${file}:${name[0]!.line}: inxi's CPU model "${shown}" (reworded by inxi) not taken as the model name`);
  }
  if (Object.keys(cpu.flags).length > 0 || family || model || stepping) parsed.cpu = cpu;
  else parsed.notes.push(`${file}: inxi output without CPU flags or numbers; nothing taken`);
  return parsed;
}
