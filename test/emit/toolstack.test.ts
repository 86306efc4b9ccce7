import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { render, PATHS } from '../../src/emit/render.ts';
import { versionAtLeast } from '../../src/rules/version.ts';
import { fixtureNames } from '../_support/memfs.ts';
import {
  decidedFact,
  renderXendConfig,
  renderXlConf,
  XEND_DOM0_MIN_MEM_DEFAULT,
  xendDom0MinMem,
  xlAutoballoon,
} from '../../src/emit/toolstack.ts';
import type { Plan } from '../../src/plan/types.ts';
import type { Decision, FactValue } from '../../src/rules/types.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';
import { findTool, run, scratch, unpackDebian, unpackXlutil, XLUTIL_PY } from './_tools.ts';

const factDecision = (rule: string, name: string, value: FactValue, overriddenBy?: string): Decision => ({
  rule,
  file: 'data/rules/40-memory.yaml',
  line: 1,
  evidence: [],
  action: { fact: { [name]: value } },
  ...(overriddenBy === undefined ? {} : { overriddenBy }),
});

/** xend's s-expressions as [key, value] pairs; every line that is not a comment must be one `(key value)`. */
function sxp(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^\(([a-z0-9-]+) ([A-Za-z0-9_.-]+)\)$/.exec(line);
    expect(m, `an s-expression: ${line}`).not.toBeNull();
    out.push([m![1]!, m![2]!]);
  }
  return out;
}

/** Dom0 without a fixed size (xend balloons it), as the rules leave Xen 3.0.3 to 3.4. */
function ballooning(p: Plan): Plan {
  return { ...p, memory: { ...p.memory, dom0: null, dom0MiB: null, guestsMiB: null } };
}

describe('decidedFact', () => {
  it('the last decision for the fact that no later rule replaced', () => {
    const decisions = [
      factDecision('a', 'xl.autoballoon', 'on', 'b'),
      factDecision('b', 'xl.autoballoon', 'off'),
      factDecision('c', 'other', 1),
    ];
    expect(decidedFact(decisions, 'xl.autoballoon')).toBe('off');
    expect(decidedFact(decisions, 'missing')).toBeUndefined();
    expect(decidedFact([factDecision('a', 'x', 1, 'b')], 'x')).toBeUndefined();
    expect(decidedFact(decisions, 'constructor')).toBeUndefined();
  });
});

describe('renderXendConfig', () => {
  it('Xen 3.0.2, Dom0 fixed at 512 MB: a 512 MiB floor, no enable-dom0-ballooning (3.0.x has no such key)', () => {
    const text = renderXendConfig(t60Plan());
    expect(sxp(text)).toEqual([
      ['network-script', 'network-bridge'],
      ['vif-script', 'vif-bridge'],
      ['dom0-min-mem', '512'],
      ['dom0-cpus', '0'],
    ]);
    expect(text).toContain('# Dom0 has a fixed size (dom0_mem=512M)');
  });

  it("the rules' xend.dom0_min_mem fact decides the floor", () => {
    const p = t60Plan();
    p.decisions = [factDecision('dom0-mem-3.0.2-hvm', 'xend.dom0_min_mem', 384)];
    expect(xendDom0MinMem(p)).toBe(384);
    expect(sxp(renderXendConfig(p))).toContainEqual(['dom0-min-mem', '384']);
  });

  it("Xen 3.0.3 with ballooning: xend's shipped floor of 196 MiB", () => {
    const p = ballooning(retarget(t60Plan(), '3.0.3'));
    expect(xendDom0MinMem(p)).toBe(XEND_DOM0_MIN_MEM_DEFAULT);
    expect(sxp(renderXendConfig(p))).toContainEqual(['dom0-min-mem', '196']);
    expect(renderXendConfig(p)).toContain('balloons it down to this floor');
  });

  it('Xen 3.3 to 4.0 write enable-dom0-ballooning: no with a fixed Dom0, yes without', () => {
    for (const version of ['3.3.0', '3.4.3', '4.0']) {
      const fixed = retarget(t60Plan(), version);
      expect(sxp(renderXendConfig(fixed))).toContainEqual(['enable-dom0-ballooning', 'no']);
      expect(sxp(renderXendConfig(ballooning(fixed)))).toContainEqual(['enable-dom0-ballooning', 'yes']);
    }
  });

  it('Xen 3.1 and 3.2 do not: the key is first in 3.3.0\'s example xend-config.sxp', () => {
    for (const version of ['3.1', '3.2.3']) {
      const keys = sxp(renderXendConfig(ballooning(retarget(t60Plan(), version)))).map(([k]) => k);
      expect(keys).not.toContain('enable-dom0-ballooning');
    }
  });

  it('dom0-cpus: a number of vCPUs as it is, "all" and unknown as 0', () => {
    const p = t60Plan();
    expect(sxp(renderXendConfig({ ...p, vcpus: { ...p.vcpus, dom0: 2 } }))).toContainEqual(['dom0-cpus', '2']);
    expect(sxp(renderXendConfig({ ...p, vcpus: { ...p.vcpus, dom0: null } }))).toContainEqual(['dom0-cpus', '0']);
  });

  it('the T60 on Xen 3.0.2 (real plan): the 512 MiB floor the rules set', async () => {
    expect(sxp(renderXendConfig(await planFor('thinkpad-t60', '3.0.2')))).toContainEqual(['dom0-min-mem', '512']);
  });
});

describe('renderXlConf', () => {
  it('autoballoon off with a fixed Dom0, auto without', () => {
    const p = retarget(t60Plan(), '4.17');
    const fixed = /\n# Dom0 has a fixed size \(dom0_mem=512M\): xl must not balloon it\.\nautoballoon="off"\n$/;
    expect(renderXlConf(p)).toMatch(fixed);
    expect(xlAutoballoon(ballooning(p))).toBe('auto');
    expect(renderXlConf(ballooning(p))).toMatch(/\nautoballoon="auto"\n$/);
  });

  it("the rules' xl.autoballoon fact decides; a value xl does not know is ignored", () => {
    const p = ballooning(retarget(t60Plan(), '4.17'));
    expect(xlAutoballoon({ ...p, decisions: [factDecision('dom0-mem-medium', 'xl.autoballoon', 'off')] })).toBe('off');
    expect(xlAutoballoon({ ...p, decisions: [factDecision('r', 'xl.autoballoon', 'maybe')] })).toBe('auto');
    const on = { ...p, decisions: [factDecision('r', 'xl.autoballoon', 'on')] };
    expect(renderXlConf(on)).toMatch(/autoballoon="on"\n$/);
  });

  it('every line is a comment or key="value" (xl.conf(5))', async () => {
    for (const fixture of ['desktop-amd-gpu', 'server-iommu-bmc', 'xen-dom0']) {
      for (const line of renderXlConf(await planFor(fixture, '4.17')).split('\n')) {
        if (line !== '') expect(line).toMatch(/^(#.*|[a-z_.]+="[^"\\]*")$/);
      }
    }
  });
});

// ---- xend's own reading of the file --------------------------------------------------------------------------------
// xend (XendOptions) parses xend-config.sxp with its sxp.Parser and reads each key with sxp.child_value: the first
// top-level list whose head is the key, its second element. No Debian release packages xend (removed in Xen 4.5) or
// its sxp.py, so readSxp() follows sxp.Parser's rules (tools/python/xen/xend/sxp.py, 3.0.x to 4.4): blanks
// ' \t\n\v\f\r'; '#' to the end of the line is a comment, inside a list too; '(' and ')' make lists, a ')' outside one is
// a syntax error and EOF inside one "unexpected EOF"; '"' and "'" quote strings (backslash escapes); any other
// printable character starts an atom, which ends at a blank, '#' or one of '{}()<>[];'.
type Sxp = string | Sxp[];

function readSxp(text: string): Sxp[] {
  const top: Sxp[] = [];
  const stack: Sxp[][] = [top];
  const where = (i: number) => `line ${text.slice(0, i).split('\n').length}`;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (' \t\n\v\f\r'.includes(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '(') {
      const list: Sxp[] = [];
      stack.at(-1)!.push(list);
      stack.push(list);
      i++;
    } else if (c === ')') {
      if (stack.length === 1) throw new Error(`syntax error: ) at ${where(i)}`);
      stack.pop();
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      for (i++; text[i] !== c; i++) {
        if (i >= text.length) throw new Error(`unexpected EOF in a string from ${where(i)}`);
        value += text[i] === '\\' ? text[++i] : text[i];
      }
      stack.at(-1)!.push(value);
      i++;
    } else if (c >= ' ' && c <= '~') {
      let atom = '';
      while (i < text.length && !/[\s#{}()<>[\];]/.test(text[i]!)) atom += text[i++];
      stack.at(-1)!.push(atom);
    } else throw new Error(`invalid character: code ${c.charCodeAt(0)} at ${where(i)}`);
  }
  if (stack.length !== 1) throw new Error('unexpected EOF inside a list');
  return top;
}

/** xend's XendOptions.get_config_bool: these words only, else "invalid xend config ...: expected bool". */
function xendBool(value: string): boolean {
  if (['yes', 'y', '1', 'on', 'true', 't'].includes(value.toLowerCase())) return true;
  if (['no', 'n', '0', 'off', 'false', 'f'].includes(value.toLowerCase())) return false;
  throw new Error(`invalid xend config: expected bool: ${value}`);
}

describe("xend-config.sxp, read as xend's sxp.Parser reads it", () => {
  it('the reader refuses what sxp.Parser refuses, and takes comments inside a list', () => {
    const text = renderXendConfig(t60Plan());
    expect(() => readSxp(`${text})`)).toThrow(/syntax error/);
    expect(() => readSxp(text.replace('(dom0-cpus 0)', '(dom0-cpus 0'))).toThrow(/unexpected EOF/);
    expect(() => readSxp(text.replace('(dom0-cpus 0)', '(dom0-cpus "0)'))).toThrow(/unexpected EOF/);
    expect(readSxp('(a # c )\n b)')).toEqual([['a', 'b']]);
  });

  // Every target with xend: 3.0.2 and 3.0.3 (no enable-dom0-ballooning), 3.2 (the last without it), 3.3 (the first
  // with it) and 4.0 (xend with a fixed Dom0 size).
  const rows = fixtureNames().flatMap((f) => ['3.0.2', '3.0.3', '3.2', '3.3', '4.0'].map((x) => [f, x] as const));
  it.each(rows)('%s on Xen %s: one (key value) per setting, as xend reads them, matching the plan', async (fixture, xen) => {
    const p = await planFor(fixture, xen);
    expect(p.target.toolstack).toBe('xend');
    const config = readSxp(renderXendConfig(p));
    for (const item of config) {
      expect(Array.isArray(item) && item.length === 2 && item.every((a) => typeof a === 'string'), JSON.stringify(item)).toBe(true);
    }
    const pairs = config as [string, string][];
    const keys = pairs.map(([k]) => k);
    // sxp.child_value takes the first: a repeated key would be ignored silently.
    expect(new Set(keys).size).toBe(keys.length);
    const value = new Map(pairs);
    expect(value.get('network-script')).toBe('network-bridge');
    expect(value.get('vif-script')).toBe('vif-bridge');
    // get_config_int: int(value).
    expect(value.get('dom0-min-mem')).toMatch(/^\d+$/);
    expect(Number(value.get('dom0-min-mem'))).toBe(xendDom0MinMem(p));
    expect(value.get('dom0-cpus')).toMatch(/^\d+$/);
    if (versionAtLeast(xen, '3.3')) {
      // Ballooning only where Dom0 has no fixed size: with dom0_mem= xend must leave Dom0's memory alone.
      expect(xendBool(value.get('enable-dom0-ballooning')!)).toBe(p.memory.dom0 === null);
    } else {
      expect(keys).not.toContain('enable-dom0-ballooning');
    }
  });
});

// ---- xl's own parser: libxlutil -----------------------------------------------------------------------------------
// xl cannot run here: every xl command, `xl -N create -n` and `xl help` too, first opens Xen's privcmd device
// ("xencall: error: Could not obtain handle on privileged command interface: No such file or directory",
// "libxl: error: libxl.c:102:libxl_ctx_alloc: cannot open libxc handle", "cannot init xl context") before it reads
// xl.conf or a domain file. Its parser is a library, libxlutil, which xl reads both with: Debian's, through python3's
// ctypes. What it does not cover: the meaning xl gives each value (xl_parse.c is in the xl binary, e.g. the vif
// spec); the boot test's `xl info` and `xl create -n` in a real Dom0 check that for its one machine.
const python3 = findTool('python3');
const xlTmp = scratch('xlutil');
afterAll(() => xlTmp.remove());

/** How xl 4.17 (xl.c, xl_parse.c) reads each key we write: xlu_cfg_get_string, _long (and defbools), _list. */
const XL_KINDS: Record<string, 'string' | 'long' | 'list'> = {
  // xl.conf
  autoballoon: 'string',
  // the HVM template; serial: xl tries a list, then a string.
  type: 'string', builder: 'string', name: 'string', memory: 'long', vcpus: 'long', vif: 'list', disk: 'list',
  boot: 'string', vnc: 'long', serial: 'string', acpi: 'long', apic: 'long', pae: 'long', xen_platform_pci: 'long',
};

let xlutil: { libDir: string; series: string } | null = null;
let xlutilNote = python3 === null ? 'python3 is not installed' : null;
if (xlutilNote === null) {
  try {
    const dir = join(xlTmp.dir, 'debs');
    mkdirSync(dir);
    // The Xen series of this Debian release, from its xen-hypervisor-common package (4.17.7+13-...: 4.17).
    const series = /_(\d+\.\d+)\./.exec(basename(unpackDebian('xen-hypervisor-common', dir)))?.[1];
    if (series === undefined) throw new Error('no Xen version in the xen-hypervisor-common package name');
    xlutil = { libDir: unpackXlutil(series, dir), series };
  } catch (e) {
    xlutilNote = (e as Error).message;
  }
}
const xlutilTitle = xlutilNote === null ? '' : ` (skipped: ${xlutilNote})`;

let m = 0;
interface XluResult {
  readfile: number;
  values: Record<string, { rc: number; value: unknown }>;
  disks: [string, number][];
  keys: string[];
}
/** Each text read by libxlutil in one python3 process; its stderr (xlutil's messages) with the results. */
function xluRead(...contents: string[]): { results: XluResult[]; stderr: string } {
  const requests = contents.map((content) => {
    const file = xlTmp.file(`xl-${m++}.cfg`, content);
    const keys = [...content.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((k) => k[1]!);
    for (const key of keys) expect(XL_KINDS[key], `how xl reads ${key}`).toBeDefined();
    return { file, keys: keys.map((k) => [k, XL_KINDS[k]]) };
  });
  const r = run([python3!, '-c', XLUTIL_PY, xlutil!.libDir, xlutil!.series, JSON.stringify(requests)], {
    env: { ...process.env, LD_LIBRARY_PATH: xlutil!.libDir },
  });
  expect(r.status, r.stderr).toBe(0);
  const results = (JSON.parse(r.stdout) as Omit<XluResult, 'keys'>[]).map((res, i) => ({ ...res, keys: requests[i]!.keys.map(([k]) => k!) }));
  return { results, stderr: r.stderr };
}

describe("xl.conf and the HVM template, read by xl's own parser (Debian's libxlutil)", () => {
  it.skipIf(xlutilNote !== null)(`the parser means something: it refuses a broken file, a string where xl wants a number, and a disk spec without target= last${xlutilTitle}`, async () => {
    const files = render(await planFor('desktop-amd-gpu', '4.17'));
    const template = files.find((f) => f.path === PATHS.guest)!.content;
    // target= takes the rest of the spec (xl-disk-configuration.txt): first, it swallows vdev=.
    const swapped = template.replace(/'(format=raw, vdev=hdc, access=ro, devtype=cdrom), (target=\/dev\/cdrom)'/, `'$2, $1'`);
    expect(swapped).not.toBe(template);
    const { results, stderr } = xluRead(
      template.replace('boot = "d"', 'boot = "d'),
      template.replace(/^memory = \d+$/m, 'memory = "a lot"'),
      swapped,
      template,
    );
    const [broken, string, disk, good] = results as [XluResult, XluResult, XluResult, XluResult];
    expect(broken.readfile).not.toBe(0);
    expect(string.values['memory']!.rc).not.toBe(0);
    expect(disk.disks.map(([, rc]) => rc)).not.toContain(0);
    expect(stderr).toContain('no vdev specified');
    expect(good.readfile).toBe(0);
    expect(good.disks.map(([, rc]) => rc)).toEqual([0]);
  });

  const rows = fixtureNames().flatMap((f) => ['4.17', '4.20'].map((x) => [f, x] as const));
  it.skipIf(xlutilNote !== null).each(rows)(`%s on Xen %s: every key of xl.conf and the template reads back as xl reads it${xlutilTitle}`, async (fixture, xen) => {
    const p = await planFor(fixture, xen);
    const files = render(p);
    const template = files.find((f) => f.path === PATHS.guest);
    expect(template !== undefined).toBe(p.hvm.available);
    const { results, stderr } = xluRead(files.find((f) => f.path === PATHS.xlConf)!.content, ...(template ? [template.content] : []));
    expect(stderr).toBe('');
    const [conf, guest] = results as [XluResult, XluResult | undefined];
    expect(conf.readfile).toBe(0);
    expect(conf.values['autoballoon']).toEqual({ rc: 0, value: xlAutoballoon(p) });
    if (guest === undefined) return;
    expect(guest.readfile).toBe(0);
    for (const key of guest.keys) expect(guest.values[key]!.rc, key).toBe(0);
    expect(guest.values['type'] ?? guest.values['builder']).toEqual({ rc: 0, value: 'hvm' });
    expect(guest.disks.length).toBeGreaterThan(0);
    expect(guest.disks.filter(([, rc]) => rc !== 0)).toEqual([]);
  });
});
