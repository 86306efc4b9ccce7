// GRUB 2 output, checked with GRUB's own tools where they exist: grub-script-check parses every grub.cfg we write
// (grub-common), grub-mkconfig_lib's grub_quote is the quoting we must equal, 20_linux_xen's own sed expressions
// name the versions, and its OS logic is what GRUB_DEFAULT must match.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  grubArgs,
  grubQuote,
  grubWord,
  linuxVersionOfPath,
  renderGrubCfg,
  renderGrubDefaults,
  xenVersionOfPath,
} from '../../src/emit/grub2.ts';
import { renderCmdline } from '../../src/emit/cmdline.ts';
import { PATHS } from '../../src/emit/render.ts';
import type { Plan } from '../../src/plan/types.ts';
import { fixtureNames } from '../_support/memfs.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote } from './_tools.ts';

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

  it.skipIf(!hasLinuxXen || dash === null)(`GRUB_DEFAULT is the title 20_linux_xen gives its top entry${linuxXenNote}`, () => {
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

  it('leaves GRUB_DEFAULT and the Dom0 line alone without Xen by default and Dom0 options', () => {
    const text = renderGrubDefaults({ ...plan417(), xenDisabled: true });
    expect(text).not.toMatch(/^\s*GRUB_DEFAULT=/m);
    expect(text).not.toContain('GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT');
  });

  it.skipIf(dash === null)(`without Xen by default, dash keeps the user's GRUB_DEFAULT and Dom0 line${dashNote}`, () => {
    assertTool(dash);
    const text = renderGrubDefaults({ ...plan417(), xenDisabled: true });
    const out = source(text, `GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT=mine`, [
      'GRUB_DEFAULT',
      'GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT',
      'GRUB_CMDLINE_XEN_DEFAULT',
      'XEN_OVERRIDE_GRUB_DEFAULT',
    ]);
    expect(out.vars).toEqual(['saved', 'mine', 'dom0_mem=1024M,max:1024M', '0']);
  });

  it.skipIf(dash === null)(`is sourced after Debian's grub.d/xen.cfg (a dpkg conffile, left alone) and its settings win${dashNote}`, () => {
    assertTool(dash);
    // grub-mkconfig: `for x in ${sysconfdir}/default/grub.d/*.cfg; do . "$x"; done`, in dash's glob order.
    const dir = mkdtempSync(join(tmpdir(), 'grub.d-'));
    try {
      writeFileSync(join(dir, 'xen.cfg'), '#XEN_OVERRIDE_GRUB_DEFAULT=0\necho "Including Xen overrides from /etc/default/grub.d/xen.cfg"\n#GRUB_CMDLINE_XEN_DEFAULT=""\nGRUB_CMDLINE_XEN_DEFAULT="from-debian"\n');
      writeFileSync(join(dir, posix.basename(PATHS.grubDefaults)), renderGrubDefaults(plan417()));
      for (const locale of ['C', 'C.UTF-8']) {
        const r = run([dash, '-c', `for x in ${dir}/*.cfg; do . "$x" >/dev/null; done; printf '%s\\0' "$XEN_OVERRIDE_GRUB_DEFAULT" "$GRUB_CMDLINE_XEN_DEFAULT"`], { env: { ...process.env, LC_ALL: locale } });
        expect(r.stdout.split('\0').slice(0, -1)).toEqual(['1', 'dom0_mem=1024M,max:1024M']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
