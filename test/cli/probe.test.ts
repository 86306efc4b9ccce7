import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeFsPromises } from '../../src/fs.ts';
import type { HardwareProfile } from '../../src/types.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';
import { runCli } from '../_support/cli.ts';

const run = runCli;

const lspci = spawnSync('sh', ['-c', 'command -v lspci'], { encoding: 'utf8' }).stdout.trim();
const hasPci = (() => {
  try {
    return execFileSync('ls', ['/sys/bus/pci/devices'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
})();

/** `lspci -nnk -D` as {slot, class, vendor, device, driver}; the ids are the LAST [....:....] group (names may end in ]). */
function parseLspci(text: string) {
  const devices: { slot: string; cls: string; vendor: string; device: string; driver: string | null }[] = [];
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) .*?\[([0-9a-f]{4})\]: .*\[([0-9a-f]{4}):([0-9a-f]{4})\]/.exec(
      line,
    );
    if (header) {
      devices.push({ slot: header[1]!, cls: header[2]!, vendor: header[3]!, device: header[4]!, driver: null });
      continue;
    }
    const driver = /^\tKernel driver in use: (\S+)/.exec(line);
    if (driver && devices.length > 0) devices[devices.length - 1]!.driver = driver[1]!;
  }
  return devices;
}

describe('autoconfig probe', () => {
  it.skipIf(!lspci || !hasPci)('lists the same slots, ids, classes and bound drivers as lspci -nnk', async () => {
    const r = await run(['probe', '--json']);
    expect(r.code).toBe(0);
    const profile = JSON.parse(r.stdout) as HardwareProfile;
    const ours = profile.pci.map((d) => ({
      slot: d.slot,
      cls: `${d.class}${d.subclass}`,
      vendor: d.vendor,
      device: d.device,
      driver: d.driver,
    }));
    const theirs = parseLspci(execFileSync(lspci, ['-nnk', '-D'], { encoding: 'utf8' }));
    expect(theirs.length).toBeGreaterThan(0);
    expect(ours).toEqual(theirs);
  });

  it.each(['abc', '-1', '0', '', 'Infinity', '0x10', '2.5', '60001'])(
    '--timeout %j: a usage error (exit 2) naming the option and value',
    async (value) => {
      const r = await run(['probe', '--timeout', value]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `autoconfig probe: --timeout ${JSON.stringify(value)}: not a whole number from 1 to 60000 ms (plain decimal digits)\n`,
      );
      expect(r.stdout).toBe('');
    },
  );

  it('lists the same CPU flags as /proc/cpuinfo', async () => {
    const r = await run(['probe', '--json']);
    const profile = JSON.parse(r.stdout) as HardwareProfile;
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^(flags|Features)\s*:/.test(l));
    expect(line).toBeDefined();
    expect(profile.cpu.flags).toEqual(line!.split(':')[1]!.trim().split(/\s+/));
  });

  it.each(fixtureNames())('%s: text listing names every PCI device and the verdicts', async (name) => {
    const { fs, root } = loadFixture(name);
    const json = await run(['probe', '--json', '--root', root], fs as typeof nodeFsPromises);
    const profile = JSON.parse(json.stdout) as HardwareProfile;
    const text = await run(['probe', '--root', root], fs as typeof nodeFsPromises);
    expect(text.code).toBe(0);
    for (const d of profile.pci) {
      expect(text.stdout).toContain(`${d.slot.replace(/^0000:/, '')} `);
      if (d.vendor && d.device) expect(text.stdout).toContain(`[${d.vendor}:${d.device}]`);
      if (d.driver) expect(text.stdout).toContain(`Kernel driver in use: ${d.driver}`);
    }
    expect(text.stdout).toMatch(
      /Hardware virtualization: (yes|present \((Intel VT-x vmx|AMD-V svm)\), firmware setting unverified|no|disabled by firmware|unknown)/,
    );
    expect(text.stdout).toMatch(/64-bit \(long mode\): (yes|no|unknown)/);
    expect(text.stdout).toMatch(/^Hypervisor: /m);
  });
});
