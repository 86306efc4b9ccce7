import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuModelName, forDisplay, machineName } from '../../src/cli/_display.ts';
import { TreeFs } from '../../src/corpus/tree-fs.ts';
import { importLogs } from '../../src/import/import.ts';
import { probe } from '../../src/probe/probe.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { readExpected } from '../_support/memfs.ts';
import { corpusDir, hasCorpus } from '../corpus/_support.ts';

describe('forDisplay', () => {
  // Every control a terminal acts on is shown; the layout's own TAB and LF, and printable text, are kept.
  it.each([
    ['LENOVO\t1951BY8\n', 'LENOVO\t1951BY8\n'],
    ['\x1b[2J\x1b]0;x\x07', '\\x1b[2J\\x1b]0;x\\x07'],
    ['a\rb', 'a\\x0db'],
    ['\x00\x08\x0b\x0c\x1f', '\\x00\\x08\\x0b\\x0c\\x1f'],
    ['\x7f', '\\x7f'],
    // C1: NEL and CSI (8-bit ESC [), shown; U+00A0 and the rest of Latin-1 are text.
    ['\u0085\u009b2J', '\\x85\\x9b2J'],
    ['caf\u00e9\u00a0ok', 'caf\u00e9\u00a0ok'],
  ])('%j -> %j', (raw, shown) => {
    expect(forDisplay(raw)).toBe(shown);
  });
});

const fixture = (name: string) => readExpected(name, 'profile.json') as HardwareProfile;

/** A shared-corpus machine's published logs, imported in memory and probed, as `corpus run` reads it. */
async function corpusProfile(machine: string): Promise<HardwareProfile> {
  const { tree } = await importLogs(join(corpusDir, machine));
  const root = '/autoconfig-corpus/1';
  return probe({ fs: new TreeFs(tree, root), root, requireMachine: true });
}

describe('machineName', () => {
  it.each([
    // sys_vendor "HP", product_name "HP ProBook 455 G7": the "HP HP ProBook 455 G7".
    ['amd-apu-laptop', 'HP ProBook 455 G7'],
    // The same word in another case is still the vendor, and a product name equal to it is said once.
    ['kvm-guest', 'Bochs'],
    ['intel-nvidia-laptop', 'Dell Inc. XPS 15 7590'],
    ['thinkpad-t60', 'LENOVO 1951BY8'],
    ['xen-dom0', 'Apple Computer, Inc. MacBookPro2,1'],
    ['xen-hvm-guest', 'Xen HVM domU'],
    // No DMI at all (an EC2 PV guest's logs, Firecracker): nothing to name.
    ['firecracker-vm', null],
  ])('fixture %s: %j', (name, expected) => {
    expect(machineName(fixture(name).dmi)).toBe(expected);
  });

  // Each row's names are those of its dmidecode.txt (System Information; Base Board Information where the system's
  // strings are the firmware's template or blank).
  it.skipIf(!hasCorpus).each([
    ['notebook-hp-probook_455_g7-ryzen7_4700u-ED67047249', 'HP ProBook 455 G7'],
    ['notebook-hp-250_g5-celeron_n3060-088908D25C', 'HP 250 G5 Notebook PC'],
    ['convertible-hp-spectre_x360_14-ea0xxx-i7-1165g7-44FEB50259', 'HP Spectre x360 Convertible 14-ea0xxx'],
    ['desktop-alienware-aurora_ryzen-ryzen7_3700x-2CA79D800A', 'Alienware Aurora Ryzen Edition'],
    ['vm-virtwhat-alibaba-cloud-x86', 'Alibaba Cloud ECS'],
    ['vm-linuxhw-bochs-BE32418C1D7C', 'Bochs'],
    // "LENOVO" / "80G0": no repeat, both said.
    ['notebook-lenovo-g50-30-celeron_n2840-19052524EC', 'LENOVO 80G0'],
    // "To Be Filled By O.E.M." twice: the board's vendor and name.
    ['desktop-asrock-x399_taichi-threadripper_2950x-9051923242', 'ASRock X399 Taichi'],
    ['desktop-asus-p4p800-mx-pentium4-C874F31973', 'ASUSTek Computer Inc. P4P800-MX'],
    // "System manufacturer" / "System Product Name".
    ['desktop-asus-prime_x399-a-threadripper_1950x-71424E19D0', 'ASUSTeK COMPUTER INC. PRIME X399-A'],
    // A real vendor and a template product name: the board, vendor and name together.
    ['desktop-gigabyte-f2a68hm-h-amd_a8-7600-2396636695', 'Gigabyte Technology Co., Ltd. F2A68HM-H'],
    // System strings of spaces only (empty to SMBIOS): the board.
    ['minipc-intel-nuc5i5ryb-i5-5250u-4B8850EB6B', 'Intel Corporation NUC5i5RYB'],
  ])('corpus %s: %j', async (machine, expected) => {
    const profile = await corpusProfile(machine);
    expect(machineName(profile.dmi)).toBe(expected);
  });

  it('a real machine\'s strings changed one at a time', () => {
    const dmi = fixture('amd-apu-laptop').dmi;
    // Not a repeat when the vendor is only the start of the product's first word.
    expect(machineName({ ...dmi, productName: 'HPE ProLiant' })).toBe('HP HPE ProLiant');
    expect(machineName({ ...dmi, productName: 'hp ProBook 455 G7' })).toBe('hp ProBook 455 G7');
    // No product name, no board name: the vendor alone; nothing at all: null.
    expect(machineName({ ...dmi, productName: null, boardName: null })).toBe('HP');
    expect(machineName({ ...dmi, sysVendor: 'To Be Filled By O.E.M.' })).toBe('HP ProBook 455 G7');
    expect(machineName({ sysVendor: null, productName: null, boardVendor: null, boardName: null })).toBeNull();
  });
});

describe('cpuModelName', () => {
  it.each([
    // Intel's brand strings, padded to a fixed layout.
    ['thinkpad-t60', 'Genuine Intel(R) CPU T2400 @ 1.83GHz'],
    ['atom-netbook', 'Intel(R) Atom(TM) CPU N270 @ 1.60GHz'],
    ['desktop-amd-gpu', 'Intel(R) Core(TM) i7 CPU 860 @ 2.80GHz'],
    ['macbookpro5-5', 'Intel(R) Core(TM)2 Duo CPU P7550 @ 2.26GHz'],
    ['xen-dom0', 'Intel(R) Core(TM)2 CPU T7600 @ 2.33GHz'],
    // Unpadded names are left as they are; an unknown one stays unknown.
    ['amd-apu-laptop', 'AMD Ryzen 7 4700U with Radeon Graphics'],
    ['xen-hvm-guest', null],
  ])('fixture %s: %j', (name, expected) => {
    expect(cpuModelName(fixture(name).cpu.modelName)).toBe(expected);
  });

  it.skipIf(!hasCorpus).each([
    ['minipc-qotom-q1900g4-m-gh-manouchehri', 'Intel(R) Celeron(R) CPU J1900 @ 1.99GHz'],
    ['stickpc-wintel-cx-w8-gh-manouchehri', 'Intel(R) Atom(TM) x5-Z8300 CPU @ 1.44GHz'],
    ['desktop-dell-optiplex_760-core2duo_e7500-2C2977305C', 'Intel(R) Core(TM)2 Duo CPU E7500 @ 2.93GHz'],
  ])('corpus %s: %j', async (machine, expected) => {
    const profile = await corpusProfile(machine);
    expect(profile.cpu.modelName).toMatch(/\S {2,}\S/);
    expect(cpuModelName(profile.cpu.modelName)).toBe(expected);
  });
});
