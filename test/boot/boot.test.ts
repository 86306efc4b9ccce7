// The end-to-end boot test: what autoconfig writes, consumed by the real boot chain. Debian's GRUB boots Debian's Xen,
// which boots Debian's kernel as Dom0, under QEMU (TCG), on an emulated machine with the devices driver matching has
// to get right. Stages (docs/boot-test.md says what each proves):
//   0  bare metal (no Xen): `autoconfig snapshot` and `--dry-run --json` on the emulated machine itself;
//   1  autoconfig (on the host) writes the boot files for that snapshot; its grub.cfg, byte for byte, boots GRUB ->
//      Xen -> Dom0 from a hybrid ISO, BIOS and UEFI; every planned module is loaded;
//   2  in Dom0 the shipped boot integration (/etc/init.d/autoconfig from `autoconfig install-boot`) runs the real
//      `autoconfig --write --apply`; its verdicts are held against what Xen says, its drivers against kmod's;
//      Debian's xl parses what it wrote;
//   3  the machine boots from what stage 2 wrote; the plan made there equals stage 2's, and nothing is rewritten.
// Each Debian release with a shipped reference kernel runs the stages: Debian 12 (Xen 4.17, Linux 6.1) and Debian 13
// (Xen 4.20, Linux 6.12: autoconfig's default target), each with its own Xen, kernel and xen-utils.
// One QEMU at a time; each stage's time is printed. Skipped (saying why) without root, apt or the tools.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  autoconfig,
  boot,
  buildRootImage,
  formatPhases,
  makeIso,
  makeJob,
  jobMarkers,
  prepareParts,
  readJob,
  skipReason,
  tail,
  RELEASES,
  xenLines,
  type BootParts,
  type DebianRelease,
} from './_harness.ts';

const reason = skipReason();
// Per boot: 15-60 s on two idle cores (docs/boot-test.md), several times that on cores shared with other work.
const BOOT_MS = 600_000;
const timings: Record<string, number> = {};

/**
 * Modules that cannot load under QEMU, each with why. Nothing else may fail.
 * - xen-acpi-processor: uploads the firmware's ACPI processor data (_PSS/_CST) to Xen; QEMU's DSDT has none: ENODEV.
 */
export const CANNOT_LOAD_UNDER_QEMU: Record<string, string> = {
  'xen-acpi-processor': "QEMU's ACPI tables have no processor performance data (_PSS) for Xen: ENODEV",
};

const normal = (name: string) => name.replaceAll('-', '_');
const tokens = (line: string) => line.trim().split(/\s+/).filter(Boolean);

interface Stage0 {
  snapshot: string;
  plan: any;
  tree: string;
  iso: string;
}

for (const release of RELEASES) describe.skipIf(reason !== null)(
  `${release.name}: boot GRUB -> Xen ${release.xenSeries} -> Linux ${release.kernel} Dom0 under QEMU${reason ? ` (skipped: ${reason})` : ''}`,
  () => stages(release),
);

function stages(release: DebianRelease): void {
  const XEN_SERIES = release.xenSeries;
  // The host plans the medium for the release's Xen by name, as a maintainer would: a snapshot holds no /boot, and
  // without --xen the plan is for autoconfig's default target (4.20), not the Xen this release boots. (In the guest,
  // and in Dom0, autoconfig finds that Xen itself: /boot/xen-<series>-amd64.gz, or the running one.)
  const xenOption = ['--xen', XEN_SERIES];
  const work = join(tmpdir(), `xenoppix-boot-${process.pid}-${release.name}`);
  let parts: BootParts;
  let rootImage: string;
  let stage0: Stage0 | undefined;
  let stage2: { plan: any; record: any; dir: string } | undefined;

  const time = (name: string, seconds: number, phases?: Record<string, number>) => {
    timings[`${release.name}: ${name}`] = seconds;
    console.log(`boot test (${release.name}): ${name}: ${seconds.toFixed(1)} s${phases ? ` (${formatPhases(phases)})` : ''}`);
  };

  beforeAll(() => {
    mkdirSync(work, { recursive: true });
    const t0 = Date.now();
    parts = prepareParts(release);
    time('prepare Debian parts (cached after the first run)', (Date.now() - t0) / 1000);
    const built = buildRootImage(work, parts);
    rootImage = built.image;
    time('root filesystem image (npm pack, install-boot, mke2fs)', built.seconds);
  }, 1_200_000);

  afterAll(() => {
    // Each release's afterAll writes all timings so far: the last one holds both.
    if (process.env.XENOPPIX_BOOT_TIMINGS) writeFileSync(process.env.XENOPPIX_BOOT_TIMINGS, JSON.stringify(timings, null, 2));
    if (!process.env.XENOPPIX_BOOT_KEEP) rmSync(work, { recursive: true, force: true });
    else console.log(`boot test (${release.name}): work directory kept: ${work}`);
  });

  /** Put Debian's Xen, kernel and the initramfs where the plan's Xen entries load them from. */
  function isoTree(tree: string, plan: any): void {
    for (const entry of plan.grub.entries as any[]) {
      if (!entry.xen) continue;
      for (const [path, src] of [
        [entry.hypervisor, parts.xenGz],
        [entry.kernel, parts.vmlinuz],
        [entry.initrd, parts.initrd],
      ] as const) {
        if (!path) continue;
        mkdirSync(dirname(join(tree, path)), { recursive: true });
        copyFileSync(src, join(tree, path));
      }
    }
  }

  it('stage 0: bare metal: the emulated machine snapshotted and planned by autoconfig itself', async () => {
    const job = makeJob(join(work, 'job0.tar'), 'snapshot');
    const r = await boot({
      root: rootImage,
      persist: false,
      job,
      from: { kernel: parts.vmlinuz, initrd: parts.initrd, append: 'console=ttyS0,115200n8' },
      log: join(work, 'stage0.log'),
      timeoutMs: BOOT_MS,
    });
    time('stage 0 boot (Linux without Xen, snapshot + dry run in the guest)', r.seconds, r.phases);
    expect(r.timedOut, tail(r.log)).toBe(false);
    const out = readJob(job);
    const m = jobMarkers(out);
    expect(m('snapshot-rc'), tail(r.log)).toBe('0');
    expect(m('dry-run-rc'), tail(r.log)).toBe('0');
    expect(m('hypervisor-type')).toBe('');
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')).plan;
    // The host plans the boot medium from the snapshot, as a maintainer would with `--root`.
    const tree = join(work, 'iso0');
    mkdirSync(tree, { recursive: true });
    const w = autoconfig(['--write', '--root', join(out, 'snap'), '--target', tree, ...xenOption]);
    expect(w.code, w.stderr + w.stdout).toBe(0);
    const hostPlan = JSON.parse(autoconfig(['--dry-run', '--json', '--root', join(out, 'snap'), '--target', tree, ...xenOption]).stdout).plan;
    isoTree(tree, hostPlan);
    const iso = join(work, 'stage1.iso');
    time('grub-mkrescue', makeIso(tree, iso));
    stage0 = { snapshot: join(out, 'snap'), plan, tree, iso };
  }, BOOT_MS + 60_000);

  for (const firmware of ['bios', 'uefi'] as const) {
    it(`stage 1 (${firmware.toUpperCase()}): autoconfig's grub.cfg boots GRUB -> Xen -> Dom0; Xen and Dom0 take the planned options; every planned module loads`, async () => {
      expect(stage0, 'stage 0 failed').toBeDefined();
      const { tree, iso } = stage0!;
      const grubCfg = readFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), 'utf8');
      const plan = JSON.parse(autoconfig(['--dry-run', '--json', '--root', stage0!.snapshot, '--target', tree, ...xenOption]).stdout).plan;
      const entry = plan.grub.entries.find((e: any) => e.default) ?? plan.grub.entries[0];
      expect(entry.xen).toBe(true);
      const modulesConf = readFileSync(join(tree, 'etc', 'modules-load.d', 'autoconfig.conf'), 'utf8');
      const job = makeJob(join(work, `job1-${firmware}.tar`), 'modules', { 'modules-load.conf': modulesConf });
      const r = await boot({ root: rootImage, persist: false, job, from: { iso, firmware }, log: join(work, `stage1-${firmware}.log`), timeoutMs: BOOT_MS });
      time(`stage 1 boot, ${firmware.toUpperCase()} (GRUB -> Xen -> Dom0 -> modules -> poweroff)`, r.seconds, r.phases);
      expect(r.timedOut, tail(r.log)).toBe(false);
      const out = readJob(job);
      const m = jobMarkers(out);

      // GRUB ran autoconfig's default entry (its echo lines reach the serial console through the planned terminal).
      expect(readFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), 'utf8')).toBe(grubCfg);
      expect(r.log).toContain(`Loading Xen ${XEN_SERIES} ...`);
      // Xen's command line is the planned one, after 20_linux_xen's "placeholder" (and, on UEFI, its xen_rm_opts).
      const xen = xenLines(r.log);
      const cmd = xen.find((l) => l.startsWith('Command line:'));
      expect(cmd, tail(r.log)).toBeDefined();
      const planned = tokens(entry.xenOptions);
      const expected = ['placeholder', ...planned, ...(firmware === 'uefi' ? ['no-real-mode', 'edd=off'] : [])];
      expect(tokens(cmd!.slice('Command line:'.length))).toEqual(expected);
      // Xen parses its command line before its serial console is up: what it said of it is in `xl dmesg`.
      const dmesg = readFileSync(join(out, 'xl-dmesg.txt'), 'utf8');
      expect(dmesg, readFileSync(join(out, 'xl-dmesg.err'), 'utf8')).toContain('Command line:');
      const rejected = [...dmesg.matchAll(/parameter "([^"]*)" (unknown|has invalid value)/g)].map((m) => m[1]!);
      // (Measured: a stray `bogusopt=1 x2apic=maybe` gives 'parameter "bogusopt" unknown!' and 'parameter "x2apic" has
      // invalid value "maybe", rc=-1!' there; GRUB's "placeholder" gives nothing.)
      expect(rejected).toEqual([]);
      // Dom0 runs with the planned options, as the control domain.
      expect(tokens(m('cmdline') ?? '')).toEqual(['placeholder', ...tokens(entry.kernelOptions)]);
      expect(m('xen-capabilities')).toBe('control_d');
      expect(m('hypervisor-type')).toBe('xen');
      // Every planned module loads, but those QEMU cannot have.
      const plannedModules = modulesConf.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
      // From the job disk, not the console: a line there can be interleaved with anything else written to it.
      const results = readFileSync(join(out, 'modules.txt'), 'utf8').trim().split('\n');
      expect(results.map((m) => m.split(' ')[0])).toEqual(plannedModules);
      const seconds = results.map((m) => [m.split(' ')[0]!, Number(m.split(' ')[2])] as const);
      const slowest = seconds.reduce((a, b) => (b[1] > a[1] ? b : a));
      time(`stage 1 ${firmware.toUpperCase()}: modprobe of every planned module, in all (slowest: ${slowest[0]} ${slowest[1]} s)`, seconds.reduce((t, [, s]) => t + s, 0));
      const failed = results.filter((m) => m.split(' ')[1] !== 'loaded');
      expect(failed.filter((f) => !(f.split(' ')[0]! in CANNOT_LOAD_UNDER_QEMU))).toEqual([]);
      // Xen powers off cleanly.
      expect(r.log).toContain('Entering ACPI S5 state');
      expect(r.code).toBe(0);
    }, BOOT_MS + 60_000);
  }

  it('stage 2: in Dom0 the boot integration runs autoconfig --write --apply; verdicts match Xen, drivers match kmod, xl parses the files', async () => {
    expect(stage0, 'stage 0 failed').toBeDefined();
    const persistent = join(work, 'root-stage2.img');
    copyFileSync(rootImage, persistent);
    const job = makeJob(join(work, 'job2.tar'), 'boot');
    const r = await boot({ root: persistent, persist: true, job, from: { iso: stage0!.iso, firmware: 'bios' }, log: join(work, 'stage2.log'), timeoutMs: BOOT_MS });
    time('stage 2 boot (Dom0 runs the init script: autoconfig --write --apply, then xl)', r.seconds, r.phases);
    expect(r.timedOut, tail(r.log)).toBe(false);
    const out = readJob(job);
    const m = jobMarkers(out);
    const started = Number(m('autoconfig-start'));
    const [ended, rc] = (m('autoconfig-end') ?? '').split(' ');
    time('autoconfig at boot, inside the TCG guest (init script start to end)', Number(ended) - started);
    expect(rc, tail(r.log, 120)).toBe('0');
    const record = JSON.parse(readFileSync(join(out, 'files', 'var', 'lib', 'autoconfig', 'last-run.json'), 'utf8'));
    const plan = record.plan;
    // The run itself: every module loaded but those QEMU cannot have; the exit code says all went well.
    const notLoaded = (record.modules as { name: string; status: string; detail: string }[]).filter((m) => m.status !== 'loaded');
    expect(notLoaded.filter((m) => !(m.name in CANNOT_LOAD_UNDER_QEMU))).toEqual([]);
    expect(record.exitCode, `${record.summary}\n${readFileSync(join(out, 'init.log'), 'utf8')}`).toBe(0);
    const [b0, b1] = readFileSync(join(out, 'node-baseline.txt'), 'utf8').trim().split(' ').map(Number);
    time('node -e 0, inside the TCG guest (baseline)', b1! - b0!);
    const ms = record.durationsMs as Record<string, number | null>;
    for (const [stage, what] of [['decide', 'probe, drivers, rules'], ['render', 'plan rendered'], ['write', 'files written'], ['apply', 'modules loaded'], ['total', 'all']] as const) {
      if (typeof ms[stage] === 'number') time(`autoconfig in Dom0, ${what} (its record)`, ms[stage]! / 1000);
    }

    // The target is the Xen that runs.
    expect(plan.target.version).toBe(m('xen-version'));
    expect(plan.target.version.startsWith(`${XEN_SERIES}.`)).toBe(true);
    expect(plan.target.source).toBe('running');
    // HVM: whether Xen can run HVM guests. Its capabilities list hvm-* whenever VT is on, but Debian's Xen (4.17 and
    // 4.20: "# CONFIG_SHADOW_PAGING is not set" in its .config) also needs HAP (EPT/NPT) for them, which `xl info`
    // shows as "hap" in virt_caps (qemu64 has no NPT: none here). IOMMU: what Xen's log says.
    const caps = m('hypervisor-capabilities') ?? '';
    const virtCaps = /^virt_caps\s*:(.*)$/m.exec(readFileSync(join(out, 'xl-info.txt'), 'utf8'))?.[1];
    expect(virtCaps, 'xl info printed no virt_caps').toBeDefined();
    expect(plan.hvm.available, `${plan.hvm.reason}; xen_caps ${caps}; virt_caps ${virtCaps}`).toBe(/\bhvm-/.test(caps) && /\bhap\b/.test(virtCaps!));
    const xen = xenLines(r.log);
    const iommuOn = xen.some((l) => /I\/O virtualisation enabled/.test(l));
    expect(xen.some((l) => /I\/O virtualisation (enabled|disabled)/.test(l)), 'Xen says nothing about its IOMMU').toBe(true);
    expect(plan.iommu.available).toBe(iommuOn);
    // Each PCI device: autoconfig's candidates are kmod's, on the Dom0's own module tree.
    const kmod = readFileSync(join(out, 'kmod-pci.txt'), 'utf8').trim().split('\n');
    expect(kmod.length).toBeGreaterThan(10);
    for (const line of kmod) {
      const [slot, modalias, ...modules] = tokens(line);
      const match = plan.drivers.find((d: any) => d.id === slot);
      expect(match, `${slot} ${modalias}`).toBeDefined();
      // modprobe -R prints a module once per matching alias; kmod loads it once.
      const unique = (names: string[]) => [...new Set(names.map(normal))].sort();
      expect(unique([...match.candidates, ...match.builtin]), `${slot} ${modalias}`).toEqual(unique(modules));
    }
    // Built into the Dom0 kernel (modules.builtin). Linux 6.12 builds virtio_pci in (CONFIG_VIRTIO_PCI=y) and its
    // modules.builtin.modinfo has no PCI alias for it: kmod names no driver for the virtio functions (equal above),
    // and the built-in one drives them (sysfs: the plan's `bound`). In 6.1 it is a module, chosen by its alias.
    const builtIn = new Set(
      readFileSync(join(parts.kernelRoot, 'lib', 'modules', parts.kernelRelease, 'modules.builtin'), 'utf8')
        .split('\n')
        .map((l) => normal(l.slice(l.lastIndexOf('/') + 1).replace(/\.ko$/, ''))),
    );
    for (const device of ['e1000', 'e1000e', 'virtio_pci', 'snd_hda_intel', 'ahci', 'ehci_pci', 'xhci_pci', 'bochs']) {
      const named = plan.drivers.some((d: any) => [d.chosen, ...(d.builtin ?? [])].filter(Boolean).map(normal).includes(device));
      const boundBuiltIn = builtIn.has(device) && plan.drivers.some((d: any) => d.bound && normal(d.bound) === device);
      expect(named || boundBuiltIn, device).toBe(true);
    }
    // Debian's xl reads the written xl.conf at every start, and accepts the written HVM template.
    expect(m('xl-info-rc'), readFileSync(join(out, 'xl-info.err'), 'utf8')).toBe('0');
    expect(readFileSync(join(out, 'xl-info.err'), 'utf8')).not.toMatch(/Failed to parse|parse error/i);
    if (plan.hvm.available) {
      expect(m('xl-create-rc'), readFileSync(join(out, 'xl-create.err'), 'utf8')).toBe('0');
    }
    stage2 = { plan, record, dir: out };
  }, BOOT_MS + 60_000);

  it('stage 3: booted from what stage 2 wrote, the plan is the same and nothing is rewritten', async () => {
    expect(stage2, 'stage 2 failed').toBeDefined();
    const tree = join(work, 'iso3');
    mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
    copyFileSync(join(stage2!.dir, 'files', 'boot', 'grub', 'grub.cfg'), join(tree, 'boot', 'grub', 'grub.cfg'));
    isoTree(tree, stage2!.plan);
    const iso = join(work, 'stage3.iso');
    makeIso(tree, iso);
    const job = makeJob(join(work, 'job3.tar'), 'boot');
    const persistent = join(work, 'root-stage2.img');
    const r = await boot({ root: persistent, persist: true, job, from: { iso, firmware: 'bios' }, log: join(work, 'stage3.log'), timeoutMs: BOOT_MS });
    time('stage 3 boot (from the files stage 2 wrote)', r.seconds, r.phases);
    expect(r.timedOut, tail(r.log)).toBe(false);
    const out = readJob(job);
    expect(jobMarkers(out)('autoconfig-end')?.split(' ')[1], tail(r.log, 120)).toBe('0');
    const record = JSON.parse(readFileSync(join(out, 'files', 'var', 'lib', 'autoconfig', 'last-run.json'), 'utf8'));
    expect(record.plan).toEqual(stage2!.plan);
    expect(record.files.written).toEqual([]);
    // And the Dom0 plan is the bare-metal plan of the same machine: no drift from boot to boot.
    expect(stage0!.plan.xen.cmdline).toBe(record.plan.xen.cmdline);
    expect(stage0!.plan.dom0.cmdline).toBe(record.plan.dom0.cmdline);
    expect(stage0!.plan.memory).toEqual(record.plan.memory);
    expect(stage0!.plan.vcpus).toEqual(record.plan.vcpus);
    expect(stage0!.plan.hvm.available).toBe(record.plan.hvm.available);
    expect(stage0!.plan.iommu).toEqual(record.plan.iommu);
    expect(stage0!.plan.dom0.modules.map((m: any) => m.name)).toEqual(record.plan.dom0.modules.map((m: any) => m.name));
    // The files written in Dom0 are those planned from the bare-metal snapshot, but where Dom0 knows more: the running
    // Xen's whole version (the installed image's name says only the series) and the HVM verdict's reason (Xen's
    // capabilities instead of the CPU flag). Nothing else may differ.
    const known = (text: string) =>
      text.replaceAll(record.plan.target.version, XEN_SERIES).replace(/^HVM_REASON=.*$/m, 'HVM_REASON=...');
    for (const file of ['boot/grub/grub.cfg', 'etc/modules-load.d/autoconfig.conf', 'etc/modprobe.d/autoconfig.conf', 'etc/xen/xl.conf', 'etc/xen/autoconfig-hvm.cfg', 'etc/sysconfig/xen']) {
      // A file not planned (the HVM template where no HVM guests are) must be absent from both.
      const read = (path: string) => (existsSync(path) ? known(readFileSync(path, 'utf8')) : null);
      expect(read(join(stage2!.dir, 'files', file)), file).toBe(read(join(stage0!.tree, file)));
    }
  }, BOOT_MS + 60_000);
}
