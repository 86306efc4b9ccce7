// GRUB 2 output, checked with GRUB's own tools where they exist: grub-script-check parses every grub.cfg we write
// (grub-common), grub-mkconfig_lib's grub_quote is the quoting we must equal, 20_linux_xen's own sed expressions
// name the versions, and its OS logic is what GRUB_DEFAULT must match.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  grubArgs,
  grubBootsXen,
  grubQuote,
  grubWord,
  linuxVersionOfPath,
  renderGrubCfg,
  renderGrubDefaults,
  renderGrubDefaultsFirst,
  xenVersionOfPath,
} from '../../src/emit/grub2.ts';
import { renderCmdline } from '../../src/emit/cmdline.ts';
import { grubSerialCommand } from '../../src/plan/console.ts';
import { PATHS, render } from '../../src/emit/render.ts';
import { PciNames } from '../../src/ids/pci-ids.ts';
import { decide, planDecided } from '../../src/plan/decide.ts';
import type { Plan } from '../../src/plan/types.ts';
import { fixtureNames, loadFixture } from '../_support/memfs.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote, unpackDebian } from './_tools.ts';

const grubScriptCheck = findTool('grub-script-check');
const dash = findTool('dash');
const MKCONFIG_LIB = '/usr/share/grub/grub-mkconfig_lib';
const LINUX_XEN = '/etc/grub.d/20_linux_xen';
const hasLib = existsSync(MKCONFIG_LIB);
const hasLinuxXen = existsSync(LINUX_XEN);
const grubNote = skipNote(grubScriptCheck, 'grub-script-check', 'grub-common');
const dashNote = skipNote(dash, 'dash', 'dash');
const libNote = hasLib && dash ? '' : ' (skipped: grub-common or dash is not installed)';
const linuxXenNote = hasLinuxXen && dash ? '' : ' (skipped: grub-common or dash is not installed)';
const tmp = scratch('grub2');
afterAll(() => tmp.remove());

let n = 0;
function scriptCheck(text: string) {
  return run([grubScriptCheck!, tmp.file(`grub-${n++}.cfg`, text)]);
}

/** The T60 plan for Xen 4.17 with GRUB 2, as a machine that runs it would have it (64-bit entries). */
function plan417(): Plan {
  const p = retarget(t60Plan(), '4.17');
  p.grub.entries = p.grub.entries.map((e) => ({
    ...e,
    title: e.title.replace('3.0.2', '4.17'),
    xenOptions: e.xen ? 'dom0_mem=1024M,max:1024M' : '',
  }));
  const options = [{ name: 'dom0_mem', value: '1024M,max:1024M', rule: 'dom0-mem-medium' }];
  p.xen = { options, cmdline: 'dom0_mem=1024M,max:1024M' };
  return p;
}

// Titles and options a plan could carry that mean something to GRUB script.
const HOSTILE = [
  `it's`,
  `$(reboot) \`halt\` \${root}`,
  `a;b|c&d<e>f`,
  `{ } [ ] * ? ~ # !`,
  `"double" 'single' \\back`,
  `Grüße 日本語`,
];

describe('grubQuote and grubWord', () => {
  it.each([
    ['dom0_mem=1024M,max:1024M', 'dom0_mem=1024M,max:1024M'],
    ['/boot/x86_64/xen.gz', '/boot/x86_64/xen.gz'],
    ['cpufreq=hwp;xen', `'cpufreq=hwp;xen'`],
    ['acpi_osi="Windows 2009"', `'acpi_osi="Windows 2009"'`],
    ['$x', `'$x'`],
    [`it's`, `'it'\\''s'`],
    ['', `''`],
  ])('grubWord(%j) = %s', (word, quoted) => {
    expect(grubWord(word)).toBe(quoted);
  });

  it('refuses a control character, which would end the line', () => {
    expect(() => grubQuote('a\nb')).toThrow(expect.objectContaining({ code: 'E_PARSE' }));
  });

  it.skipIf(!hasLib || dash === null)(`equals grub-mkconfig_lib's grub_quote inside single quotes${libNote}`, () => {
    assertTool(dash);
    for (const text of HOSTILE) {
      const r = run([dash, '-c', `. ${MKCONFIG_LIB} && printf '%s' "$T" | grub_quote`], {
        env: { ...process.env, T: text, pkgdatadir: '/usr/share/grub' },
      });
      expect(r.stderr).toBe('');
      expect(grubQuote(text)).toBe(`'${r.stdout}'`);
    }
  });

  it('grubArgs quotes each token of a command line, as the kernel splits it', () => {
    expect(grubArgs('a=1 cpufreq=hwp;xen acpi_osi="Windows 2009" noreboot')).toBe(
      `a=1 'cpufreq=hwp;xen' 'acpi_osi="Windows 2009"' noreboot`,
    );
  });
});

describe('versions from file names, as 20_linux_xen takes them', () => {
  const cases: [string, string, string][] = [
    ['/boot/xen-4.17.3.gz', '4.17.3', 'xen'],
    ['/boot/xen-4.17-amd64.gz', '4.17-amd64', 'xen'],
    ['/boot/x86_64/xen.gz', 'xen', 'xen'],
    ['/boot/vmlinuz-6.1.0-13-amd64', '6.1.0-13-amd64', 'linux'],
    ['/boot/vmlinuz-2.6.16.29-xen', '2.6.16.29-xen', 'linux'],
    ['/boot/x86_64/vmlinuz', 'vmlinuz', 'linux'],
    ['/vmlinuz-xen-2.6', '2.6', 'linux'],
  ];
  it.each(cases)('%s -> %s', (path, version, kind) => {
    expect(kind === 'xen' ? xenVersionOfPath(path) : linuxVersionOfPath(path)).toBe(version);
  });

  const sed = findTool('sed');
  it.skipIf(sed === null)(`match 20_linux_xen's sed expressions run by sed${skipNote(sed, 'sed', 'sed')}`, () => {
    assertTool(sed);
    for (const [path, , kind] of cases) {
      const base = path.slice(path.lastIndexOf('/') + 1);
      const expr = kind === 'xen' ? 's,.gz$,,g;s,^xen-,,g' : 's,^[^0-9]*-,,g';
      const r = run([sed, '-e', expr], { input: `${base}\n` });
      expect(kind === 'xen' ? xenVersionOfPath(path) : linuxVersionOfPath(path)).toBe(r.stdout.trimEnd());
    }
  });
});

describe('renderGrubCfg', () => {
  it("writes 20_linux_xen's entry shape: classes, insmod, echo lines, xen_rm_opts, multiboot2/module2", () => {
    const text = renderGrubCfg(plan417());
    const entry = text.slice(text.indexOf('menuentry'), text.indexOf('\n}\n') + 3);
    expect(entry).toBe(
      [
        `menuentry 'Xenoppix (Xen 4.17, x86_32)' --class gnu-linux --class gnu --class os --class xen {`,
        '\tinsmod gzio',
        '\tinsmod multiboot2',
        `\techo\t'Loading Xen 4.17 ...'`,
        '        if [ "$grub_platform" = "pc" -o "$grub_platform" = "" ]; then',
        '            xen_rm_opts=',
        '        else',
        '            xen_rm_opts="no-real-mode edd=off"',
        '        fi',
        '\tmultiboot2\t/boot/x86_32/xen.gz placeholder dom0_mem=1024M,max:1024M ${xen_rm_opts}',
        `\techo\t'Loading Linux ...'`,
        '\tmodule2\t/boot/x86_32/vmlinuz placeholder',
        `\techo\t'Loading initial ramdisk ...'`,
        '\tmodule2\t--nounzip   /boot/x86_32/initrd.gz',
        '}',
        '',
      ].join('\n'),
    );
    expect(text).toMatch(/^set default=0\nset timeout=10\n/m);
  });

  it('writes plain Linux entries with linux/initrd and the Linux classes', () => {
    const text = renderGrubCfg(plan417());
    expect(text).toContain(
      `menuentry 'Xenoppix (x86_32, without Xen)' --class gnu-linux --class gnu --class os {\n\tinsmod gzio\n` +
        `\techo\t'Loading Linux ...'\n\tlinux\t/boot/x86_32/vmlinuz\n\techo\t'Loading initial ramdisk ...'\n` +
        '\tinitrd\t/boot/x86_32/initrd.gz\n}\n',
    );
  });

  it('uses multiboot/module for a Xen without the multiboot2 header (before 4.9)', () => {
    const text = renderGrubCfg(retarget(plan417(), '4.8'));
    expect(text).toContain('\tinsmod multiboot\n');
    expect(text).toContain('\tmultiboot\t/boot/x86_32/xen.gz placeholder ');
    expect(text).toContain('\tmodule\t/boot/x86_32/vmlinuz placeholder');
    expect(text).toContain('\tmodule\t--nounzip   /boot/x86_32/initrd.gz');
    expect(text).not.toContain('module2');
  });

  it('names the versions from versioned file names', () => {
    const p = plan417();
    Object.assign(p.grub.entries[0]!, { hypervisor: '/boot/xen-4.17.3.gz', kernel: '/boot/vmlinuz-6.1.0-13-amd64' });
    const text = renderGrubCfg(p);
    expect(text).toContain(`\techo\t'Loading Xen 4.17.3 ...'`);
    expect(text).toContain(`\techo\t'Loading Linux 6.1.0-13-amd64 ...'`);
  });

  it('sets the default to the entry marked default', () => {
    const p = plan417();
    p.grub.entries = p.grub.entries.map((e, i) => ({ ...e, default: i === 1 }));
    expect(renderGrubCfg(p)).toMatch(/^set default=1$/m);
  });

  it.each([
    [{ hypervisor: null }, /Xen entry without a hypervisor/],
    [{ kernel: 'vmlinuz' }, /not absolute/],
    [{ title: 'a\nb' }, /control character/],
    [{ kernelOptions: 'a\nb' }, /control character/],
  ])('refuses %j', (change, message) => {
    const p = plan417();
    Object.assign(p.grub.entries[0]!, change);
    expect(() => renderGrubCfg(p)).toThrow(message);
  });


  it.skipIf(grubScriptCheck === null)(`grub-script-check finds the error in a broken file, so its verdicts mean something${grubNote}`, () => {
    assertTool(grubScriptCheck);
    const text = renderGrubCfg(plan417());
    expect(scriptCheck(text).status).toBe(0);
    expect(scriptCheck(text.slice(0, text.lastIndexOf('}'))).status).not.toBe(0);
    expect(scriptCheck(text.replace(`'Loading Linux ...'`, `'Loading Linux ...`)).status).not.toBe(0);
  });

  it.skipIf(grubScriptCheck === null)(`grub-script-check accepts hostile titles and options, and quoting keeps every option one word${grubNote}`, () => {
    assertTool(grubScriptCheck);
    const p = plan417();
    p.grub.entries = p.grub.entries.flatMap((e) =>
      HOSTILE.map((h) => ({
        ...e,
        title: `${e.title} ${h}`,
        xenOptions: renderCmdline([
          { name: 'cpufreq', value: 'hwp;xen', rule: 't' },
          // The boot line is printable ASCII without '"' in values (cmdline.ts refuses the rest).
          { name: 'x', value: h.replace(/[^\x20-\x7e]|"/g, '?'), rule: 't' },
        ]),
        kernelOptions: `acpi_osi="Windows 2009" a={b} #c`,
      })),
    );
    const text = renderGrubCfg(p);
    const r = scriptCheck(text);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    // Every word of the options is either safe or one single-quoted GRUB word.
    expect(text).toContain(`placeholder 'acpi_osi="Windows 2009"' 'a={b}' '#c'\n`);
    expect(text).toContain(`placeholder 'cpufreq=hwp;xen' `);
  });

  it.skipIf(grubScriptCheck === null).each(fixtureNames())(`grub-script-check accepts the grub.cfg of %s on Xen 4.17${grubNote}`, async (fixture) => {
    assertTool(grubScriptCheck);
    const r = scriptCheck(renderGrubCfg(await planFor(fixture, '4.17')));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

describe('renderGrubDefaults (/etc/default/grub.d/xenoppix-autoconfig.cfg)', () => {
  /** Sources the file in dash after `prelude` and prints the named variables NUL-terminated. */
  function source(text: string, prelude: string, names: string[]) {
    const file = tmp.file(`defaults-${n++}.cfg`, text);
    const refs = names.map((v) => ` "$${v}"`).join('');
    const r = run([dash!, '-c', `${prelude}\n. ${file} || exit 99\nprintf '%s\\0'${refs}`]);
    return { status: r.status, stderr: r.stderr, vars: r.stdout.split('\0').slice(0, -1) };
  }

  it('Xen options quoted for GRUB, then for sh; Dom0 options after the user\'s defaults; GRUB_DEFAULT logic', () => {
    const p = plan417();
    p.xen.cmdline = 'dom0_mem=1024M,max:1024M cpufreq=hwp;xen';
    p.dom0.cmdline = 'console=hvc0 acpi_osi="Windows 2009"';
    const text = renderGrubDefaults(p);
    expect(text).toContain(`GRUB_CMDLINE_XEN_DEFAULT='dom0_mem=1024M,max:1024M '\\''cpufreq=hwp;xen'\\'''\n`);
    const replace = `' console=hvc0 '\\''acpi_osi="Windows 2009"'\\'''`;
    expect(text).toContain(`GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT="\${GRUB_CMDLINE_LINUX_DEFAULT}"${replace}\n`);
    expect(text).toContain('GRUB_DEFAULT=');
  });

  it.skipIf(dash === null)(`dash parses it and reads the values back as 20_linux_xen will paste them${dashNote}`, () => {
    assertTool(dash);
    const p = plan417();
    p.xen.cmdline = 'dom0_mem=1024M,max:1024M cpufreq=hwp;xen';
    p.dom0.cmdline = 'console=hvc0 acpi_osi="Windows 2009"';
    const text = renderGrubDefaults(p);
    expect(run([dash, '-n', tmp.file(`n-${n++}.cfg`, text)])).toMatchObject({ status: 0, stderr: '' });
    const out = source(text, `GRUB_CMDLINE_LINUX_DEFAULT='quiet splash'`, [
      'GRUB_CMDLINE_XEN_DEFAULT',
      'GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT',
    ]);
    expect(out).toMatchObject({ status: 0, stderr: '' });
    expect(out.vars).toEqual([
      `dom0_mem=1024M,max:1024M 'cpufreq=hwp;xen'`,
      `quiet splash console=hvc0 'acpi_osi="Windows 2009"'`,
    ]);
  });

  it.skipIf(grubScriptCheck === null || dash === null)(`grub-script-check accepts the lines 20_linux_xen makes from the values${grubNote}`, () => {
    assertTool(grubScriptCheck); assertTool(dash);
    const p = plan417();
    p.xen.cmdline = 'dom0_mem=1024M,max:1024M cpufreq=hwp;xen x=$(halt) y={';
    p.dom0.cmdline = 'console=hvc0 acpi_osi="Windows 2009" z=`reboot`';
    const names = ['GRUB_CMDLINE_XEN_DEFAULT', 'GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT'];
    const out = source(renderGrubDefaults(p), '', names);
    const [xenArgs, linuxArgs] = out.vars as [string, string];
    // 20_linux_xen's heredoc: ${xen_loader} ... placeholder ${xen_args} \${xen_rm_opts}; module ... ro ${args}
    const entry = [
      `menuentry 'Debian GNU/Linux, with Xen hypervisor' --class xen {`,
      `\tmultiboot2\t/boot/xen-4.17.gz placeholder ${xenArgs} \${xen_rm_opts}`,
      `\tmodule2\t/boot/vmlinuz-6.1 placeholder root=/dev/sda1 ro ${linuxArgs}`,
      '}',
      '',
    ].join('\n');
    expect(scriptCheck(entry)).toMatchObject({ status: 0, stderr: '' });
  });

  it.skipIf(!hasLinuxXen || dash === null)(`without grub-mkconfig_lib's grub_get_device_id (GRUB before 2.00), GRUB_DEFAULT is the title 20_linux_xen gives its top entry${linuxXenNote}`, () => {
    assertTool(dash);
    const script = readFileSync(LINUX_XEN, 'utf8');
    // The script's own OS logic and title format: if GRUB changes them, this test must notice.
    const osBlock = /^if \[ "x\$\{GRUB_DISTRIBUTOR\}" = "x" \] ; then\n[\s\S]*?\nfi$/m.exec(script)?.[0];
    expect(osBlock).toBeDefined();
    expect(script).toContain('title="$(gettext_printf "%s, with Xen hypervisor" "${os}")"');
    const text = renderGrubDefaults(plan417());
    for (const distributor of ['', 'Debian', 'Xenoppix Live', `O'Brien "Linux"`]) {
      const assign = `GRUB_DISTRIBUTOR='${distributor.replaceAll("'", `'\\''`)}'`;
      const prelude = `${assign}\n${osBlock}\nEXPECTED="$OS, with Xen hypervisor"`;
      const out = source(text, prelude, ['GRUB_DEFAULT', 'EXPECTED']);
      expect(out).toMatchObject({ status: 0, stderr: '' });
      expect(out.vars[0]).toBe(out.vars[1]);
    }
  });

  it('without Xen by default: no Xen default and no Dom0 line; GRUB_DEFAULT only put back as the first file found it', () => {
    const text = renderGrubDefaults({ ...plan417(), xenDisabled: true });
    expect(text).not.toMatch(/xen-gnulinux-simple|with Xen hypervisor/);
    expect([...text.matchAll(/^\s*GRUB_DEFAULT=.*$/gm)].map((m) => m[0].trim())).toEqual([
      'GRUB_DEFAULT="${XENOPPIX_AUTOCONFIG_GRUB_DEFAULT}"',
    ]);
    expect(text).not.toContain('GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT');
  });

  /** Sources the first file, `between` (what grub.d/xen.cfg does), the second file; prints the named variables. */
  function sourceAround(p: Plan, prelude: string, between: string, names: string[]) {
    const first = tmp.file(`first-${n++}.cfg`, renderGrubDefaultsFirst());
    return source(renderGrubDefaults(p), `${prelude}\n. ${first} || exit 98\n${between}`, names);
  }
  // grub.d/xen.cfg's own logic, as xen-hypervisor-common 4.17 has it (the whole file is run in the grub-mkconfig test).
  const XEN_CFG_LOGIC = [
    'if [ "$XEN_OVERRIDE_GRUB_DEFAULT" = "" ]; then echo warned >&2; XEN_OVERRIDE_GRUB_DEFAULT=1; fi',
    'if [ "$XEN_OVERRIDE_GRUB_DEFAULT" = "1" ]; then GRUB_DEFAULT="$GRUB_DISTRIBUTOR GNU/Linux, with Xen hypervisor"; fi',
  ].join('\n');

  it.skipIf(dash === null)(`without Xen by default, dash keeps the user's GRUB_DEFAULT, even after an edited xen.cfg, and the Dom0 line${dashNote}`, () => {
    assertTool(dash);
    const p = { ...plan417(), xenDisabled: true };
    const names = ['GRUB_DEFAULT', 'GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT', 'GRUB_CMDLINE_XEN_DEFAULT', 'XEN_OVERRIDE_GRUB_DEFAULT'];
    const user = `GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT=mine\nGRUB_DISTRIBUTOR=Debian`;
    const stock = sourceAround(p, user, XEN_CFG_LOGIC, names);
    expect(stock).toMatchObject({ status: 0, stderr: '' });
    expect(stock.vars).toEqual(['saved', 'mine', 'dom0_mem=1024M,max:1024M', '0']);
    const edited = sourceAround(p, user, `XEN_OVERRIDE_GRUB_DEFAULT=1\n${XEN_CFG_LOGIC}`, names);
    expect(edited.vars).toEqual(['saved', 'mine', 'dom0_mem=1024M,max:1024M', '1']);
  });

  it.skipIf(dash === null)(`the first file keeps xen.cfg from warning; with Xen, GRUB_DEFAULT is ours${dashNote}`, () => {
    assertTool(dash);
    const out = sourceAround(plan417(), 'GRUB_DEFAULT=0\nGRUB_DISTRIBUTOR=Debian', XEN_CFG_LOGIC, ['GRUB_DEFAULT']);
    expect(out).toMatchObject({ status: 0, stderr: '', vars: ['Debian GNU/Linux, with Xen hypervisor'] });
  });

  it.skipIf(dash === null)(`grub-mkconfig sources the first file before Debian's grub.d/xen.cfg and the second after it${dashNote}`, () => {
    assertTool(dash);
    // grub-mkconfig: `for x in ${sysconfdir}/default/grub.d/*.cfg; do . "$x"; done`, in dash's glob order.
    const dir = mkdtempSync(join(tmpdir(), 'grub.d-'));
    try {
      for (const name of [posix.basename(PATHS.grubDefaultsFirst), 'xen.cfg', posix.basename(PATHS.grubDefaults)]) {
        writeFileSync(join(dir, name), '');
      }
      for (const locale of ['C', 'C.UTF-8']) {
        const r = run([dash, '-c', `for x in ${dir}/*.cfg; do printf '%s\\n' "\${x##*/}"; done`], { env: { ...process.env, LC_ALL: locale } });
        expect(r.stdout.split('\n').slice(0, -1)).toEqual([posix.basename(PATHS.grubDefaultsFirst), 'xen.cfg', posix.basename(PATHS.grubDefaults)]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * A fixture's real plan with its snapshot changed as another boot of the same machine would show it: booted by UEFI
 * (/sys/firmware/efi, as a 64-bit UEFI shows it), or with `cmdline` as its /proc/cmdline (a boot-line cheatcode).
 */
async function planWith(fixture: string, xen: string, change: { efi?: boolean; cmdline?: string }): Promise<Plan> {
  const { fs, sync, root } = loadFixture(fixture);
  if (change.efi === true) {
    sync.mkdirSync(`${root}/sys/firmware/efi`, { recursive: true });
    sync.writeFileSync(`${root}/sys/firmware/efi/fw_platform_size`, '64\n');
  }
  if (change.cmdline !== undefined) {
    sync.mkdirSync(`${root}/proc`, { recursive: true });
    sync.writeFileSync(`${root}/proc/cmdline`, `${change.cmdline}\n`);
  }
  const d = await decide({ fs, root, xen });
  const ids = await PciNames.load();
  return planDecided(d, (v, dev) => ids.device(v, dev));
}
const planForEfi = (fixture: string, xen: string) => planWith(fixture, xen, { efi: true });

describe('Xen before 4.9 on UEFI: no multiboot2 header, so no GRUB entry can start it', () => {
  // The Dell XPS 15 7590 (2019) boots by UEFI; its published logs do not say so, so the snapshot gets the directory.
  const EFI_FIXTURE = 'intel-nvidia-laptop';

  it.each(['4.0', '4.8'])('Xen %s on UEFI: no Xen entry, the default is Linux without Xen, a plan warning and a grub.cfg comment say why', async (xen) => {
    const p = await planForEfi(EFI_FIXTURE, xen);
    expect(p.grub.variant).toBe('efi');
    expect(p.xenDisabled).toBe(false);
    expect(grubBootsXen(p)).toBe(false);
    expect(p.warnings).toContainEqual(expect.stringMatching(`^Xen ${xen.replace('.', '\\.')} has no multiboot2 header .*GRUB on UEFI cannot start it`));
    const text = renderGrubCfg(p);
    expect(text).toMatch(/^# No Xen entry: Xen .* has no multiboot2 header/m);
    expect(text.replace(/^#.*\n/gm, '')).not.toMatch(/multiboot|--class xen|xen\.gz/);
    const titles = [...text.matchAll(/^menuentry '([^']*)'/gm)].map((m) => m[1]);
    expect(titles).toEqual(['Xenoppix (x86_64, without Xen)', 'Xenoppix (x86_32, without Xen)']);
    expect(text).toMatch(/^set default=0$/m);
    const defaults = renderGrubDefaults(p);
    expect(defaults).not.toContain('xen-gnulinux-simple');
    expect(defaults).toMatch(/^# Not Xen by default: Xen .* has no multiboot2 header/m);
  });

  it.each([
    ['4.9', 'efi', 'multiboot2'],
    ['4.17', 'efi', 'multiboot2'],
    ['4.8', 'bios', 'multiboot'],
  ])('Xen %s on %s: the Xen entries are written, with %s', async (xen, firmware, loader) => {
    const p = firmware === 'efi' ? await planForEfi(EFI_FIXTURE, xen) : await planFor(EFI_FIXTURE, xen);
    expect(grubBootsXen(p)).toBe(true);
    expect(p.warnings.join('\n')).not.toContain('multiboot2 header');
    const text = renderGrubCfg(p);
    expect(text).toContain(`\tinsmod ${loader}\n`);
    expect(text).toMatch(/^menuentry 'Xenoppix \(Xen [^']*, x86_64\)' .*--class xen \{$/m);
    expect(text).toMatch(/^set default=0$/m);
  });

  it.skipIf(grubScriptCheck === null)(`grub-script-check accepts the grub.cfg without Xen entries${grubNote}`, async () => {
    assertTool(grubScriptCheck);
    const r = scriptCheck(renderGrubCfg(await planForEfi(EFI_FIXTURE, '4.8')));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });
});

// ---- Debian's update-grub, for real: grub-mkconfig with Debian's grub.d/xen.cfg and our grub.d files ------------
// In a mount namespace (unshare -m), a scratch /boot, /etc/default and /etc/grub.d are bind-mounted over the real
// ones, so the unmodified /usr/sbin/grub-mkconfig and GRUB's own 00_header, 10_linux and 20_linux_xen run as
// update-grub runs them. /boot holds Debian's real Xen image (20_linux_xen asks grub-file whether it is multiboot2)
// and a Dom0 kernel by name: 20_linux_xen reads only its name and its config's CONFIG_XEN_DOM0=y line.
const grubMkconfig = findTool('grub-mkconfig');
const KERNEL = '6.1.0-13-amd64';
const XEN_WARNING = 'GRUB_DEFAULT changed to boot into Xen';

interface DebianGrubFiles {
  /** xen-hypervisor-common's /etc/default/grub.d/xen.cfg. */
  xenCfg: string;
  /** grub2-common's /usr/share/grub/default/grub, which its postinst installs as /etc/default/grub. */
  defaultGrub: string;
  /** Debian's Xen image, from the xen-hypervisor package of the same version as xen.cfg. */
  xenImage: string;
}

function mkconfigSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root: grub-mkconfig runs as root in a mount namespace';
  if (grubMkconfig === null || !hasLinuxXen || grubScriptCheck === null) return 'grub-common is not installed';
  for (const tool of ['unshare', 'mount', 'dpkg-deb', 'apt-get', 'grub-probe']) {
    if (findTool(tool) === null) return `${tool} is not installed`;
  }
  const ns = run(['unshare', '-m', 'true']);
  if (ns.status !== 0) return `unshare -m fails here: ${ns.stderr.trim()}`;
  // grub-mkconfig stops without a device for / (e.g. an overlay root in a container).
  const probe = run([findTool('grub-probe')!, '--target=device', '/']);
  if (probe.status !== 0) return `grub-probe cannot name the device of /: ${probe.stderr.trim()}`;
  return null;
}

function debianGrubFiles(): DebianGrubFiles {
  const dir = join(tmp.dir, 'debian');
  mkdirSync(dir);
  const common = unpackDebian('xen-hypervisor-common', dir);
  // xen-hypervisor-common_4.17.7+13-g2445b30a44-0+deb12u1_amd64.deb -> xen-hypervisor-4.17-amd64
  const series = /_(\d+\.\d+)\./.exec(posix.basename(common))?.[1];
  if (series === undefined) throw new Error(`no Xen version in ${common}`);
  unpackDebian(`xen-hypervisor-${series}-amd64`, dir);
  unpackDebian('grub2-common', dir);
  const images = readdirSync(join(dir, 'boot')).filter((f) => /^xen-.*\.gz$/.test(f));
  if (images.length !== 1) throw new Error(`xen-hypervisor-${series}-amd64: Xen images ${images.join(', ')}`);
  return {
    xenCfg: readFileSync(join(dir, 'etc/default/grub.d/xen.cfg'), 'utf8'),
    defaultGrub: readFileSync(join(dir, 'usr/share/grub/default/grub'), 'utf8'),
    xenImage: join(dir, 'boot', images[0]!),
  };
}

let mkconfigNote = mkconfigSkipReason();
let debianFiles: DebianGrubFiles | null = null;
if (mkconfigNote === null) {
  try {
    debianFiles = debianGrubFiles();
  } catch (e) {
    mkconfigNote = (e as Error).message;
  }
}
const mkconfigTitle = mkconfigNote === null ? '' : ` (skipped: ${mkconfigNote})`;

/** grub-mkconfig -o grub.cfg with Debian's files, `xenCfg` as grub.d/xen.cfg and the plan's grub.d files. */
function updateGrub(p: Plan, xenCfg: string) {
  const debian = debianFiles!;
  const root = mkdtempSync(join(tmp.dir, 'root-'));
  for (const dir of ['boot/grub', 'default/grub.d', 'grub.d']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'boot', posix.basename(debian.xenImage)), readFileSync(debian.xenImage));
  writeFileSync(join(root, 'boot', `vmlinuz-${KERNEL}`), '');
  writeFileSync(join(root, 'boot', `initrd.img-${KERNEL}`), '');
  writeFileSync(join(root, 'boot', `config-${KERNEL}`), 'CONFIG_XEN_DOM0=y\n');
  writeFileSync(join(root, 'default/grub'), debian.defaultGrub);
  writeFileSync(join(root, 'default/grub.d/xen.cfg'), xenCfg);
  const ours = render(p).filter((f) => f.path.startsWith('/etc/default/grub.d/'));
  for (const f of ours) writeFileSync(join(root, 'default/grub.d', posix.basename(f.path)), f.content);
  for (const script of ['00_header', '10_linux', '20_linux_xen']) {
    writeFileSync(join(root, 'grub.d', script), readFileSync(`/etc/grub.d/${script}`), { mode: 0o755 });
  }
  const script =
    'mount --make-rprivate / && mount --bind "$1/boot" /boot && mount --bind "$1/default" /etc/default && ' +
    'mount --bind "$1/grub.d" /etc/grub.d && exec "$2" -o "$1/grub.cfg"';
  const r = run(['unshare', '-m', 'sh', '-c', script, 'sh', root, grubMkconfig!]);
  const cfg = existsSync(join(root, 'grub.cfg')) ? readFileSync(join(root, 'grub.cfg'), 'utf8') : '';
  return { ...r, cfg, cfgPath: join(root, 'grub.cfg'), ours: ours.map((f) => f.path) };
}

interface MenuItem {
  kind: string;
  title: string;
  id: string | null;
  head: string;
  body: string[];
}

/** The top-level menu entries and submenus of a grub.cfg, as GRUB numbers them for `default`. */
function topLevel(cfg: string): MenuItem[] {
  const items: MenuItem[] = [];
  let open: MenuItem | null = null;
  for (const line of cfg.split('\n')) {
    if (open !== null) {
      if (line === '}') open = null;
      else open.body.push(line);
      continue;
    }
    const m = /^(menuentry|submenu) '((?:[^']|'\\'')*)'(.*)\{$/.exec(line);
    if (m === null) continue;
    const id = /\$menuentry_id_option '([^']*)'/.exec(m[3]!)?.[1] ?? null;
    open = { kind: m[1]!, title: m[2]!.replaceAll(`'\\''`, "'"), id, head: line, body: [] };
    items.push(open);
  }
  return items;
}

/** The entry 00_header's `set default="..."` names: by number, title or id, as GRUB resolves it. */
function defaultEntry(cfg: string): MenuItem | undefined {
  const values = [...cfg.matchAll(/^\s*set default="(.*)"$/gm)].map((m) => m[1]!).filter((v) => v !== '${next_entry}');
  expect(values).toHaveLength(1);
  const value = values[0]!;
  const items = topLevel(cfg);
  if (/^\d+$/.test(value)) return items[Number(value)];
  return items.find((i) => i.kind === 'menuentry' && (i.title === value || i.id === value));
}

describe("grub-mkconfig (update-grub) with Debian's grub.d/xen.cfg and our grub.d files", () => {
  /** Debian's xen.cfg as the Debian wiki has users edit it: Xen options of their own, the default made Xen's. */
  const edited = (xenCfg: string) => {
    const out = xenCfg
      .replace(/^#XEN_OVERRIDE_GRUB_DEFAULT=$/m, 'XEN_OVERRIDE_GRUB_DEFAULT=1')
      .replace(/^#GRUB_CMDLINE_XEN_DEFAULT=""$/m, 'GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=4G,max:4G"');
    expect(out).toContain('\nXEN_OVERRIDE_GRUB_DEFAULT=1\n');
    expect(out).toContain('\nGRUB_CMDLINE_XEN_DEFAULT="dom0_mem=4G,max:4G"\n');
    return out;
  };
  const rows: [string, string, 'stock' | 'edited', 'bios' | 'efi' | 'serial console'][] = [
    ['desktop-amd-gpu', '4.17', 'stock', 'bios'],
    ['desktop-amd-gpu', '4.17', 'edited', 'bios'],
    // Dom0 options (console=hvc0 after the token) and GRUB's serial terminal, from the console= cheatcode.
    ['server-iommu-bmc', '4.20', 'stock', 'serial console'],
    // Xen must not boot: a Xen PV guest, a 32-bit CPU under Xen 4.3+, a pre-4.9 Xen on UEFI.
    ['xen-pv-guest', '4.17', 'stock', 'bios'],
    ['thinkpad-t42', '4.17', 'edited', 'bios'],
    ['intel-nvidia-laptop', '4.8', 'stock', 'efi'],
  ];

  it.skipIf(mkconfigNote !== null).each(rows)(`%s, Xen %s, %s xen.cfg, %s: no warning, the right default, the planned options${mkconfigTitle}`, async (fixture, xen, xenCfg, firmware) => {
    const p =
      firmware === 'efi'
        ? await planForEfi(fixture, xen)
        : firmware === 'serial console'
          ? await planWith(fixture, xen, { cmdline: 'BOOT_IMAGE=/boot/x86_64/vmlinuz console=ttyS0,115200n8' })
          : await planFor(fixture, xen);
    if (firmware === 'serial console') {
      expect(p.dom0.cmdline).toContain('console=hvc0');
      expect(p.console.serial).not.toBeNull();
    }
    const r = updateGrub(p, xenCfg === 'stock' ? debianFiles!.xenCfg : edited(debianFiles!.xenCfg));
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0, stderr: expect.stringContaining('Including Xen overrides from /etc/default/grub.d/xen.cfg') });
    expect(r.stderr).not.toContain(XEN_WARNING);
    expect(r.stderr).not.toContain('Warning');
    expect(r.ours).toEqual([PATHS.grubDefaultsFirst, PATHS.grubDefaults]);
    const entry = defaultEntry(r.cfg);
    expect(entry, 'the default names an entry').toBeDefined();
    if (!p.xenDisabled && grubBootsXen(p)) {
      expect(entry!.head).toContain('--class xen');
      expect(entry!.id).toMatch(/^xen-gnulinux-simple-/);
      // 20_linux_xen: `multiboot2 <xen> placeholder ${GRUB_CMDLINE_XEN} ${GRUB_CMDLINE_XEN_DEFAULT} ${xen_rm_opts}`.
      const xenLine = entry!.body.find((l) => /^\tmultiboot2?\t/.test(l));
      const args = /^\tmultiboot2\t\S+ placeholder (.*) \$\{xen_rm_opts\}$/.exec(xenLine ?? '')?.[1];
      expect(args?.trim()).toBe(grubArgs(p.xen.cmdline));
      const kernelLine = entry!.body.find((l) => /^\tmodule2\t\S+ placeholder /.test(l)) ?? '';
      expect(kernelLine).toMatch(/ ro +quiet/);
      if (p.dom0.cmdline !== '') expect(kernelLine.endsWith(` quiet ${grubArgs(p.dom0.cmdline)}`)).toBe(true);
    } else {
      expect(entry!.head).not.toContain('--class xen');
      expect(entry!.body.some((l) => /^\tlinux\t/.test(l))).toBe(true);
    }
    if (p.console.serial !== null) {
      // 00_header, from GRUB_TERMINAL and GRUB_SERIAL_COMMAND: the lines our own grub.cfg has.
      expect(r.cfg).toContain(`\n${grubSerialCommand(p.console.serial)}\n`);
      expect(r.cfg).toMatch(/^terminal_input serial console$/m);
      expect(r.cfg).toMatch(/^terminal_output serial console$/m);
    }
    const check = run([grubScriptCheck!, r.cfgPath]);
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  }, 60_000);
});
