// /etc/sysconfig/*: hwsetup's names and our verdicts, and the files sourced by real shells with hostile device names
// (quotes, $(...), backticks, line breaks): every value must read back byte for byte and nothing may run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/emit/shell.ts';
import { deviceName, renderSysconfig, sysconfigVars, xenVerdicts } from '../../src/emit/sysconfig.ts';
import type { Plan } from '../../src/plan/types.ts';
import { sysconfigVariableProblem } from '../../src/rules/values.ts';
import { planFor, retarget, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote } from './_tools.ts';

const tmp = scratch('sysconfig');
afterAll(() => tmp.remove());

describe('sysconfigVars', () => {
  it("writes hwsetup's variables for the T60's devices (the first netcard of two), and knoppix's copies", () => {
    const files = sysconfigVars(t60Plan());
    expect(Object.keys(files)).toEqual(['knoppix', 'netcard', 'sound', 'xen', 'xserver']);
    expect(files.xserver).toEqual({
      XSERVER: 'XFree86',
      XMODULE: 'i810',
      XDESC: 'Mobile 945GM/GMS, 943/940GML Express Integrated Graphics Controller',
    });
    expect(files.netcard).toEqual({ FULLNAME: '82573L Gigabit Ethernet Controller', DRIVER: 'e1000e' });
    expect(files.sound).toEqual({
      FULLNAME: 'NM10/ICH7 Family High Definition Audio Controller',
      DRIVER: 'snd_hda_intel',
    });
    expect(files.knoppix).toEqual({
      XSERVER: 'XFree86',
      XMODULE: 'i810',
      XDESC: 'Mobile 945GM/GMS, 943/940GML Express Integrated Graphics Controller',
      NETCARD_FULLNAME: '82573L Gigabit Ethernet Controller',
      NETCARD_DRIVER: 'e1000e',
      SOUND_FULLNAME: 'NM10/ICH7 Family High Definition Audio Controller',
      SOUND_DRIVER: 'snd_hda_intel',
    });
  });

  it('writes the mouse as hwsetup did, with /dev/ before a bare device name', () => {
    const p = { ...t60Plan(), mouse: { device: 'psaux', type: 'ps2', xtype: 'PS/2' } };
    const files = sysconfigVars(p);
    expect(files.mouse).toEqual({ MOUSETYPE: 'ps2', XMOUSETYPE: 'PS/2', DEVICE: '/dev/psaux' });
    expect(files.knoppix!.MOUSE_DEVICE).toBe('/dev/psaux');
    const usb = sysconfigVars({ ...t60Plan(), mouse: { device: '/dev/input/mice', type: 'imps2', xtype: 'IMPS/2' } });
    expect(usb.mouse!.DEVICE).toBe('/dev/input/mice');
  });

  it('leaves out what is unknown, as hwsetup did, and files without variables, but always knoppix and xen', () => {
    const p: Plan = {
      ...t60Plan(),
      xserver: { server: null, module: null, description: null, device: null },
      netcards: [{ device: { id: '0000:02:00.0', vendor: '8086', device: '109a', name: null }, driver: null }],
      sound: [],
      sysconfig: {},
    };
    const files = sysconfigVars(p);
    expect(Object.keys(files)).toEqual(['knoppix', 'netcard', 'xen']);
    expect(files.netcard).toEqual({ FULLNAME: '8086:109a at 0000:02:00.0' });
    expect(files.knoppix).toEqual({ NETCARD_FULLNAME: '8086:109a at 0000:02:00.0' });
  });

  it("applies the rules' variables over ours: same name in place, new names after, other files as well", () => {
    const p = t60Plan();
    p.sysconfig = {
      xserver: { XMODULE: 'vesa', XOPTIONS: '-depth 16' },
      i18n: { LANG: 'de_DE@euro', COUNTRY: 'de' },
    };
    const files = sysconfigVars(p);
    expect(Object.entries(files.xserver!)).toEqual([
      ['XSERVER', 'XFree86'],
      ['XMODULE', 'vesa'],
      ['XDESC', 'Mobile 945GM/GMS, 943/940GML Express Integrated Graphics Controller'],
      ['XOPTIONS', '-depth 16'],
    ]);
    expect(files.i18n).toEqual({ LANG: 'de_DE@euro', COUNTRY: 'de' });
    expect(Object.keys(files)).toEqual(['i18n', 'knoppix', 'netcard', 'sound', 'xen', 'xserver']);
  });

  // Issue #11: rules lint passed these, then render refused them (IFS, PATH, LD_PRELOAD, BASH_COMPAT) or they
  // overrode a verdict; the allowlist is one check for both (src/rules/values.ts).
  it.each([
    ['knoppix', 'IFS'],
    ['knoppix', 'PATH'],
    ['xserver', 'LD_PRELOAD'],
    ['knoppix', 'BASH_COMPAT'],
    ['xen', 'HVM'],
    ['xserver', '__proto__'],
  ])('refuses a variable rules may not set: %s %s, as rules lint does', (file, name) => {
    const p = t60Plan();
    p.sysconfig = JSON.parse(JSON.stringify({ [file]: { [name]: 'x' } })) as Plan['sysconfig'];
    expect(() => sysconfigVars(p)).toThrow(expect.objectContaining({ code: 'E_PARSE', path: name }));
    expect(sysconfigVariableProblem(name)).toMatch(/is not a variable rules may set in \/etc\/sysconfig/);
  });

  it('keeps names like "constructor" and "__proto__" plain data', () => {
    const p = t60Plan();
    p.sysconfig = JSON.parse('{"constructor": {"LANG": "1"}, "toString": {"TZ": "x"}}') as Plan['sysconfig'];
    const files = sysconfigVars(p);
    expect(files.constructor).toEqual({ LANG: '1' });
    expect(Object.getOwnPropertyDescriptor(files, 'toString')?.value).toEqual({ TZ: 'x' });
  });

  it.each(['../passwd', 'a/b', '.hidden', ''])('refuses the file name %j', (file) => {
    const p = t60Plan();
    p.sysconfig = { [file]: { A: '1' } };
    expect(() => sysconfigVars(p)).toThrow(expect.objectContaining({ code: 'E_PARSE', path: file }));
  });

  it('deviceName: the pci.ids name, else the IDs and the slot, else the slot', () => {
    const gpu = { id: '0000:00:02.0', vendor: '8086', device: '27a2' };
    expect(deviceName({ ...gpu, name: 'Mobile 945GM' })).toBe('Mobile 945GM');
    expect(deviceName({ ...gpu, name: null })).toBe('8086:27a2 at 0000:00:02.0');
    expect(deviceName({ id: '1-1:1.0', vendor: null, device: null, name: null })).toBe('1-1:1.0');
  });
});

describe('xenVerdicts', () => {
  it('the T60 on Xen 3.0.2: yes/no, sizes in MiB, unknown as the empty string', () => {
    expect(xenVerdicts(t60Plan())).toEqual({
      XEN_ENABLED: 'yes',
      XEN_VERSION: '3.0.2',
      XEN_GENERATION: '3.0',
      TOOLSTACK: 'xend',
      SAFE: 'no',
      XEN_ARCH: 'x86_32',
      DOM0_ARCH: 'x86_32',
      GUESTS_64BIT: 'no',
      LONG_MODE: 'no',
      HVM: 'yes',
      HVM_TECHNOLOGY: 'vmx',
      HVM_REASON: 'cpuinfo flag vmx',
      HVM_UNRELIABLE: 'yes',
      UMA: 'yes',
      UMA_DEVICE: '0000:00:02.0',
      UMA_STOLEN_MIB: '',
      MEM_TOTAL_MIB: '2048',
      MEM_INSTALLED_MIB: '',
      DOM0_MEM: '512M',
      DOM0_MEM_MIB: '512',
      GUESTS_MEM_MIB: '1536',
      HOST_CPUS: '2',
      DOM0_VCPUS: 'all',
      GUEST_VCPUS: '1',
      IOMMU: 'no',
      IOMMU_HIDDEN: '',
      XEN_CMDLINE: 'dom0_mem=524288',
      DOM0_CMDLINE: '',
      BOOT_FIRMWARE: 'bios',
      GRUB_FLAVOR: 'legacy',
    });
  });

  it('follows the plan: no Xen, unknown long mode, hidden devices, xl', () => {
    const p = retarget(t60Plan(), '4.17');
    const v = xenVerdicts({
      ...p,
      xenDisabled: true,
      longMode: null,
      hvm: { available: false, technology: null, reason: 'no vmx', unreliable: false },
      iommu: { available: true, hidden: ['0000:01:00.0', '0000:01:00.1'] },
    });
    expect(v).toMatchObject({
      XEN_ENABLED: 'no',
      LONG_MODE: '',
      HVM: 'no',
      HVM_TECHNOLOGY: '',
      TOOLSTACK: 'xl',
      XEN_GENERATION: '4.x',
      GRUB_FLAVOR: 'grub2',
      IOMMU: 'yes',
      IOMMU_HIDDEN: '0000:01:00.0 0000:01:00.1',
    });
  });

  it("unknown firmware facts are '', never a guess: the IOMMU, and a BIOS GRUB written only by assumption", () => {
    const p = t60Plan();
    const v = xenVerdicts({
      ...p,
      iommu: { available: null, hidden: [] },
      grub: { ...p.grub, variant: 'bios', variantAssumed: true },
    });
    expect(v).toMatchObject({ IOMMU: '', BOOT_FIRMWARE: '' });
    // A variant a rule chose, or the firmware the profile knows, is written.
    expect(xenVerdicts({ ...p, grub: { ...p.grub, variant: 'bios', variantAssumed: false } }).BOOT_FIRMWARE).toBe('bios');
    expect(xenVerdicts({ ...p, grub: { ...p.grub, variant: 'efi', variantAssumed: false } }).BOOT_FIRMWARE).toBe('efi');
    expect(xenVerdicts({ ...p, iommu: { available: false, hidden: [] } }).IOMMU).toBe('no');
  });

  it('UMA: the device and, where the profile told it, the stolen size in MiB', () => {
    const p = t60Plan();
    expect(xenVerdicts({ ...p, uma: { present: true, device: '0000:05:00.0', stolenMiB: 512 } })).toMatchObject({
      UMA: 'yes',
      UMA_DEVICE: '0000:05:00.0',
      UMA_STOLEN_MIB: '512',
    });
    expect(xenVerdicts({ ...p, uma: { present: false, device: null, stolenMiB: null } })).toMatchObject({
      UMA: 'no',
      UMA_DEVICE: '',
      UMA_STOLEN_MIB: '',
    });
  });
});

// ---- real shells --------------------------------------------------------------------------------------------

const marker = (what: string) => join(tmp.dir, `ran-${what}`);
/** Device names a hostile or broken pci.ids could give, each trying to run `touch` if quoted the way hwsetup did. */
const HOSTILE: Record<string, string> = {
  dq: `Radeon 9000 Pro "Evil Commando"; touch ${marker('dq')}; echo "`,
  sq: `it's'; touch ${marker('sq')}; echo '`,
  dollar: `$(touch ${marker('dollar')})`,
  backtick: `\`touch ${marker('backtick')}\``,
  newline: `line one\ntouch ${marker('newline')}\n`,
  vars: '${HOME} $HOME $1 $@ \\n \\',
};

function hostilePlan(): Plan {
  const p = t60Plan();
  const names = Object.values(HOSTILE);
  p.xserver = { ...p.xserver, description: names[0]!, module: names[1]! };
  p.netcards = [{ device: { ...p.netcards[0]!.device, name: names[2]! }, driver: names[3]! }];
  p.sound = [{ device: { ...p.sound[0]!.device, name: names[4]! }, driver: names[5]! }];
  p.mouse = { device: names[2]!, type: names[3]!, xtype: names[4]! };
  p.hvm = { ...p.hvm, reason: names.join(' | ') };
  p.sysconfig = { knoppix: { LANG: names[1]! }, desktop: { DESKTOP: names[0]! } };
  return p;
}

const shells: [string, string[] | null][] = [
  ['dash', findTool('dash') === null ? null : [findTool('dash')!]],
  ['bash --posix', findTool('bash') === null ? null : [findTool('bash')!, '--posix']],
];

describe.each(shells)('every sysconfig file sourced by %s', (label, shell) => {
  const program = label.split(' ')[0]!;
  const note = shell === null ? ` (skipped: ${program} is not installed; apt-get install ${program})` : '';

  it.skipIf(shell === null)(`parses (-n) every file of every T60 target and of the hostile plan${note}`, async () => {
    assertTool(shell);
    const plans = [hostilePlan(), await planFor('thinkpad-t60', '3.0.2'), await planFor('desktop-amd-gpu', '4.17')];
    for (const p of plans) {
      for (const { name, content } of renderSysconfig(p)) {
        const r = run([...shell, '-n', tmp.file(`n-${name}`, content)]);
        expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: '' });
      }
    }
  });

  it.skipIf(shell === null)(`reads back every hostile value byte for byte and runs nothing${note}`, () => {
    assertTool(shell);
    const p = hostilePlan();
    const expected = sysconfigVars(p);
    for (const { name, content } of renderSysconfig(p)) {
      const file = tmp.file(`src-${name}`, content);
      const names = Object.keys(expected[name]!);
      const script = `. ${shellQuote(file)} || exit 99\nprintf '%s\\0'${names.map((v) => ` "$${v}"`).join('')}`;
      const r = run([...shell, '-c', script], { cwd: tmp.dir });
      expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: '' });
      const values = r.stdout.split('\0').slice(0, -1);
      expect(Object.fromEntries(names.map((v, i) => [v, values[i]]))).toEqual(expected[name]);
    }
    for (const what of Object.keys(HOSTILE)) expect(existsSync(marker(what)), what).toBe(false);
    // The hostile values did reach the files: each one is in some file, read back above.
    const all = Object.values(expected).flatMap((vars) => Object.values(vars));
    for (const value of Object.values(HOSTILE)) expect(all).toContain(value);
  });
});

const dashForControl = findTool('dash');
const controlNote = skipNote(dashForControl, 'dash', 'dash');
it.skipIf(dashForControl === null)(`written as hwsetup did (XDESC="%s"), a hostile name runs: the check above can fail${controlNote}`, () => {
  assertTool(dashForControl);
  const file = tmp.file('hwsetup-style', `XDESC="$(touch ${marker('hwsetup')})"\n`);
  run([dashForControl, '-c', `. ${shellQuote(file)}`], { cwd: tmp.dir });
  expect(existsSync(marker('hwsetup'))).toBe(true);
});
