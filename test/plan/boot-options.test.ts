// decideXenOptions, decideDom0Options, renderOptions (src/plan/boot-options.ts) over real machines.
import { describe, expect, it } from 'vitest';
import { decideDom0Options, decideXenOptions, renderOptions } from '../../src/plan/boot-options.ts';
import { consoleRule, CONSOLE_FACT, serialConsolePlan } from '../../src/plan/console.ts';
import { decideMemory } from '../../src/plan/memory.ts';
import { targetInfo } from '../../src/plan/plan.ts';
import { decideVcpus } from '../../src/plan/vcpus.ts';
import { decided } from './_decided.ts';

describe('decideXenOptions', () => {
  it("the R730 at 4.17: the rules' options, then dom0_mem and dom0_max_vcpus; a rule's own dom0_mem= is replaced", async () => {
    const d = await decided('server-iommu-bmc', '4.17');
    const target = targetInfo(d.target);
    const sizing = [decideMemory(d.profile, d.outcome, target, null).option, decideVcpus(d.profile, d.outcome, target).option];
    expect(renderOptions(decideXenOptions(d.outcome.xen, sizing))).toBe('ucode=scan dom0_mem=4096M,max:4096M dom0_max_vcpus=1-4');
    const ruled = [...d.outcome.xen, { name: 'dom0_mem', value: '1G', rule: 'local-dom0-mem' }];
    const options = decideXenOptions(ruled, sizing);
    expect(options.filter((o) => o.name === 'dom0_mem')).toEqual([sizing[0]]);
    // Nothing sized: Xen's defaults, no option of the plan's.
    expect(decideXenOptions(ruled, [null, null]).map((o) => o.name)).toEqual(['ucode']);
  });
});

describe('decideDom0Options', () => {
  it.each([
    // firecracker-vm boots with console=ttyS0: a pvops Dom0 (4.x) also writes to Xen's hvc0, last; XenLinux (3.0.3)
    // names Xen's console ttyS itself.
    ['4.17', 'console=ttyS0 console=hvc0'],
    ['4.20', 'console=ttyS0 console=hvc0'],
    ['3.0.3', 'console=ttyS0'],
  ])('firecracker-vm at Xen %s: %s', async (xen, line) => {
    const d = await decided('firecracker-vm', xen);
    const raw = d.outcome.facts[CONSOLE_FACT];
    const serial = serialConsolePlan(typeof raw === 'string' ? raw : null, consoleRule(d.outcome.decisions), targetInfo(d.target));
    expect(renderOptions(decideDom0Options(d.outcome.dom0, serial))).toBe(line);
    expect(renderOptions(decideDom0Options(d.outcome.dom0, null))).toBe('console=ttyS0');
  });
});

describe('renderOptions', () => {
  it("the ProBook's noacpi and nousb: name=value, and a bare flag as its name", async () => {
    const d = await decided('amd-apu-laptop', '4.17', 'noacpi nousb');
    expect(renderOptions(d.outcome.dom0)).toBe('acpi=off usbcore.nousb');
  });
});
