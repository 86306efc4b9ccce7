import { describe, expect, it } from 'vitest';
import { parseProcPci } from '../../src/import/proc-pci.ts';
import { dataFile, importMachine, pciDevice, pciSlots } from './_support.ts';

const E4310 = 'notebook-dell-latitude_e4310-ul';

describe('/proc/bus/pci/devices (Latitude E4310, util-linux dump)', () => {
  it('gives ids and bound drivers, nothing it lacks: no class, revision, subsystem or modalias', async () => {
    const result = await importMachine(E4310);
    expect(pciSlots(result)).toHaveLength(24);
    expect(pciDevice(result, '0000:00:02.0')).toEqual({
      vendor: '0x8086',
      device: '0x0046',
      driver: 'i915',
      // Base addresses f0000004, e000000c, 6111 with sizes 400000, 10000000, 8 (see pci-resource.test.ts).
      resource: [
        '0x00000000f0000000 0x00000000f03fffff 0x0000000000140204',
        '0x0000000000000000 0x0000000000000000 0x0000000000000000',
        '0x00000000e0000000 0x00000000efffffff 0x000000000014220c',
        '0x0000000000000000 0x0000000000000000 0x0000000000000000',
        '0x0000000000006110 0x0000000000006117 0x0000000000040101',
        '0x0000000000000000 0x0000000000000000 0x0000000000000000',
        '0x0000000000000000 0x0000000000000000 0x0000000000000000',
      ].join('\n'),
    });
    // An empty driver column: nothing bound. No base address: no BAR.
    expect(pciDevice(result, '0000:3f:00.0')).toEqual({
      vendor: '0x8086',
      device: '0x2c62',
      resource: Array(7).fill('0x0000000000000000 0x0000000000000000 0x0000000000000000').join('\n'),
    });
    expect(result.manifest.absent).toEqual(
      expect.arrayContaining(['pci.class', 'pci.subsystem', 'pci.revision', 'pci.modalias']),
    );
    expect(result.manifest.absent).not.toContain('pci.driver');
  });

  it('keeps driver names with spaces, as old kernels registered them', async () => {
    const result = await importMachine(E4310);
    expect(pciDevice(result, '0000:00:1b.0').driver).toBe('HDA Intel');
    expect(result.tree.links['sys/devices/pci0000:00/0000:00:1f.6/driver']).toBe('../../../bus/pci/drivers/intel ips');
  });

  it('refuses a second listing of the same bus and devfn: another domain it cannot place', () => {
    const text = dataFile(E4310, 'proc__bus__pci__devices');
    const parsed = parseProcPci(text + text, 'devices');
    expect(parsed.pci).toHaveLength(24);
    expect(parsed.issues).toHaveLength(24);
    expect(parsed.issues[0]).toEqual({
      file: 'devices',
      line: 25,
      message: '0000:00:00.0 listed again (line 1): a second PCI domain; skipped',
    });
  });
});
