import { describe, expect, it } from 'vitest';
import { dependencies, parseBuiltinModinfo, parseModuleList, parseModulesAlias, parseModulesDep } from '../../src/modalias/alias-file.ts';
import type { ModaliasIssue } from '../../src/modalias/alias-file.ts';
import { AliasIndexBuilder } from '../../src/modalias/index-build.ts';
import { readText, shippedDir } from './_kmod.ts';

/** Lines matching `re`: what `grep -c` says, an independent count of the shipped files. */
function countLines(text: string, re: RegExp): number {
  return text.split('\n').filter((l) => re.test(l)).length;
}

function collect(parse: (sink: AliasIndexBuilder) => ModaliasIssue[]) {
  const sink = new AliasIndexBuilder();
  const issues = parse(sink);
  return { entries: sink.build(() => 0).entries(), issues };
}

describe('modules.alias', () => {
  it('reads real lines, normalizing patterns as depmod does for the .bin index', () => {
    // Lines from Debian's 6.1.0-56-amd64 modules.alias, with malformed ones around them.
    const text = [
      '# Aliases extracted from modules themselves.',
      'alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e',
      'alias xen-backend:vbd xen_blkback',
      'alias usb:v0D96p410Ad[1-9]*dc*dsc*dp*ic*isc*ip*in* usb_storage',
      'alias pci:v0000[8086d* broken',
      'alias pci:v00001AF4d00001041sv*sd*bc*sc*i*',
      'alias  acpi*:PNP0501:*\t8250_pnp ',
      'options foo bar=1',
      '',
    ].join('\n');
    const { entries, issues } = collect((sink) => parseModulesAlias(text, '/m/modules.alias', sink));
    expect(entries).toEqual([
      { pattern: 'pci:v00008086d000010D3sv*sd*bc*sc*i*', module: 'e1000e' },
      { pattern: 'xen_backend:vbd', module: 'xen_blkback' },
      { pattern: 'usb:v0D96p410Ad[1-9]*dc*dsc*dp*ic*isc*ip*in*', module: 'usb_storage' },
      { pattern: 'acpi*:PNP0501:*', module: '8250_pnp' },
    ]);
    expect(issues.map((i) => [i.file, i.line, i.message.split(':')[0]])).toEqual([
      ['/m/modules.alias', 5, 'unmatched bracket in "pci'],
      ['/m/modules.alias', 6, 'missing module name'],
      ['/m/modules.alias', 8, 'not an alias line'],
    ]);
  });

  it('reads the whole shipped file without a complaint', () => {
    const text = readText(`${shippedDir}/modules.alias`);
    const { entries, issues } = collect((sink) => parseModulesAlias(text, 'x', sink));
    expect(issues).toEqual([]);
    expect(entries).toHaveLength(countLines(text, /^alias /)); // `grep -c '^alias ' modules.alias`
    expect(entries.filter((e) => e.pattern.startsWith('pci:'))).toHaveLength(countLines(text, /^alias pci:/));
    expect(entries.find((e) => e.module === 'xen_netback')).toEqual({ pattern: 'xen_backend:vif', module: 'xen_netback' });
  });
});

describe('the other depmod files', () => {
  it('takes the alias records of modules.builtin.modinfo', () => {
    const modinfo = readText(`${shippedDir}/modules.builtin.modinfo`);
    const { entries, issues } = collect((sink) => parseBuiltinModinfo(modinfo, 'x', sink));
    expect(issues).toEqual([]);
    // NUL-separated "module.key=value" records: `tr '\0' '\n' | grep -c '\.alias='`
    expect(entries).toHaveLength(modinfo.split('\0').filter((r) => /^[^.=]+\.alias=/.test(r)).length);
    expect(entries.length).toBeGreaterThan(50);
    expect(entries).toContainEqual({ pattern: 'xen:vfb', module: 'xen_fbfront' });
    expect(entries).toContainEqual({ pattern: 'char_major_4_*', module: '8250' });
  });

  it('reads module lists and dependencies', () => {
    const orderText = readText(`${shippedDir}/modules.order`);
    const order = parseModuleList(orderText);
    const modules = countLines(orderText, /\S/); // `wc -l modules.order`: every module once
    expect(order).toHaveLength(modules);
    expect(modules).toBeGreaterThan(4000);
    expect(order.indexOf('radeon')).toBeLessThan(order.indexOf('amdgpu'));
    const { deps, issues } = parseModulesDep(readText(`${shippedDir}/modules.dep`) + 'garbage line\n', '/m/modules.dep');
    expect(deps.size).toBe(modules);
    expect(issues).toEqual([{ file: '/m/modules.dep', line: modules + 1, message: 'no "path:" at the start: "garbage line"' }]);
    expect(dependencies(deps, 'xen_netback')).toEqual([]);
    expect(dependencies(deps, 'ext4')).toEqual(['crc16', 'mbcache', 'jbd2']);
    // The alias file lists modules in modules.order order: the basis of kmod's priorities.
    const seen = collect((sink) => parseModulesAlias(readText(`${shippedDir}/modules.alias`), 'x', sink)).entries.map((e) => e.module);
    const firsts = [...new Set(seen)].map((m) => order.indexOf(m));
    expect(firsts.every((p, i) => i === 0 || p > firsts[i - 1]!)).toBe(true);
  });
});
