import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { XEN_PATHS } from '../../src/import/xen.ts';
import { dataDir, dataFile, importFiles, importMachine } from './_support.ts';

const DOM0 = 'vm-virtwhat-rhel5-xen-dom0';
const DOMU = 'vm-virtwhat-rhel5-xen-domU-pv';
const xenFiles = (files: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(files).filter(([p]) => p.startsWith('sys/hypervisor/') || p.startsWith('proc/xen/')),
  );

describe('captured /sys/hypervisor and /proc/xen files (virt-what RHEL 5 cases)', () => {
  it('gives a dom0 its Xen 3.1 facts and control_d', async () => {
    const result = await importMachine(DOM0);
    expect(xenFiles(result.tree.files)).toEqual({
      'sys/hypervisor/type': 'xen\n',
      'sys/hypervisor/version/major': '3\n',
      'sys/hypervisor/version/minor': '1\n',
      'sys/hypervisor/version/extra': '.2-238.el5\n',
      'sys/hypervisor/properties/capabilities':
        'xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 \n',
      'proc/xen/capabilities': 'control_d\n',
    });
    expect(result.manifest.absent).not.toContain('xen');
  });

  it('keeps the empty /proc/xen/capabilities of a PV domU: the emptiness is the fact', async () => {
    const result = await importMachine(DOMU);
    expect(result.tree.files['proc/xen/capabilities']).toBe('');
    expect(result.tree.files['sys/hypervisor/type']).toBe('xen\n');
  });

  it('takes nothing else: uuid, compilation and the other properties are not read by the probes', async () => {
    const result = await importMachine(DOM0);
    const uuid = result.manifest.sources.find((s) => s.file === 'sys__hypervisor__uuid');
    expect(uuid).toEqual({ file: 'sys__hypervisor__uuid', format: 'captured /sys/hypervisor/uuid', used: [] });
    expect(result.manifest.notes).toContain('sys__hypervisor__uuid: not read by the probes; not taken');
    expect(result.issues).toEqual([]);
  });

  it('reads the same files from a `grep -r . /sys/hypervisor /proc/xen` dump of them', async () => {
    // The dump is derived from the real captured files, one "path:line" per line as grep prints them.
    const names = readdirSync(join(dataDir, DOM0)).filter((n) => /^(sys__hypervisor|proc__xen)__/.test(n));
    const dump = names
      .flatMap((n) =>
        dataFile(DOM0, n)
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => `/${n.split('__').join('/')}:${l}`),
      )
      .join('\n');
    const result = await importFiles({ 'hypervisor.txt': dump + '\n' });
    expect(result.manifest.sources).toEqual([
      { file: 'hypervisor.txt', format: '/sys/hypervisor dump', used: ['xen'] },
    ]);
    expect(xenFiles(result.tree.files)).toEqual(xenFiles((await importMachine(DOM0)).tree.files));
    expect(Object.keys(xenFiles(result.tree.files)).every((p) => XEN_PATHS.includes(p))).toBe(true);
  });
});
