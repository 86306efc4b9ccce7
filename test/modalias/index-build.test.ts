import { describe, expect, it } from 'vitest';
import { buildAliasIndex } from '../../src/modalias/index-build.ts';

describe('alias index', () => {
  // Patterns of Debian 6.1's modules.alias; ranks are the modules' lines in its modules.order (radeon 469, amdgpu 470).
  const entries = [
    { pattern: 'pci:v00001002d00006798sv*sd*bc*sc*i*', module: 'amdgpu' },
    { pattern: 'pci:v00001002d*sv*sd*bc03sc*i*', module: 'amdgpu' },
    { pattern: 'pci:v00001002d00006798sv*sd*bc*sc*i*', module: 'radeon' },
    { pattern: 'pci:v*d*sv*sd*bc01sc06i01*', module: 'ahci' },
    { pattern: 'xen_backend:vbd', module: 'xen_blkback' },
  ];
  const rank = { radeon: 469, amdgpu: 470, ahci: 10, xen_blkback: 3000 } as Record<string, number>;
  const index = buildAliasIndex(entries, (m) => rank[m]!);

  it('returns every match in rank order, each module once', () => {
    expect(index.lookup('pci:v00001002d00006798sv00001002sd00003000bc03sc00i00')).toEqual(['radeon', 'amdgpu']);
    expect(index.lookup('pci:v00008086d00002922sv00000000sd00000000bc01sc06i01')).toEqual(['ahci']);
    expect(index.lookup('xen_backend:vbd')).toEqual(['xen_blkback']);
    expect(index.lookup('xen_backend:vbd2')).toEqual([]);
    expect(index.lookup('')).toEqual([]);
    expect(index.modules).toEqual(['amdgpu', 'radeon', 'ahci', 'xen_blkback']);
  });

  it("treats a backslash in the literal head literally, as kmod's trie does", () => {
    const escaped = buildAliasIndex([{ pattern: 'a\\b*', module: 'm' }], () => 0);
    expect(escaped.lookup('a\\bc')).toEqual(['m']);
    expect(escaped.lookup('abc')).toEqual([]);
  });
});
