// The serial console in the boot files (plan.console.serial, from console=ttyS<N>): grub.cfg's serial terminal,
// checked by grub-script-check; the grub.d settings, run through grub-mkconfig's own GRUB_TERMINAL logic and its
// 00_header, which must write the very lines our grub.cfg has; menu.lst's serial and terminal lines, converted by
// GRUB 2's grub-menulst2cfg and then checked by grub-script-check.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { renderMenuLst } from '../../src/emit/grub-legacy.ts';
import { renderGrubCfg, renderGrubDefaults } from '../../src/emit/grub2.ts';
import { serialConsolePlan } from '../../src/plan/console.ts';
import type { Plan } from '../../src/plan/types.ts';
import { retarget, t60Plan } from './_plans.ts';
import { assertTool, findTool, run, scratch, skipNote } from './_tools.ts';

const grubScriptCheck = findTool('grub-script-check');
const menulst2cfg = findTool('grub-menulst2cfg');
const dash = findTool('dash');
const MKCONFIG = '/usr/sbin/grub-mkconfig';
const HEADER = '/etc/grub.d/00_header';
const hasMkconfig = existsSync(MKCONFIG) && existsSync(HEADER) && dash !== null;
const grubNote = skipNote(grubScriptCheck, 'grub-script-check', 'grub-common');
const menulstNote = skipNote(menulst2cfg, 'grub-menulst2cfg', 'grub-common') || grubNote;
const dashNote = skipNote(dash, 'dash', 'dash');
const mkconfigNote =
  hasMkconfig && grubScriptCheck !== null ? '' : ' (skipped: grub-common (grub-mkconfig, grub-script-check) or dash is not installed)';
const tmp = scratch('console');
afterAll(() => tmp.remove());
let n = 0;

/** The T60 plan for `xen` with the serial console `value` (console=<value> on the boot line). */
function withSerial(xen: string, value: string | null): Plan {
  const p = retarget(t60Plan(), xen);
  const serial = serialConsolePlan(value, `cheatcode:console=${value}`, p.target);
  if (value !== null) expect(serial).not.toBeNull();
  return { ...p, console: { serial } };
}

// Boot line value -> GRUB's serial command (GRUB 2 and GRUB legacy take the same options; 8n1 is both defaults).
const SETTINGS: [string, string][] = [
  ['ttyS0,115200n8', 'serial --unit=0 --speed=115200'],
  ['ttyS0', 'serial --unit=0 --speed=9600'],
  ['ttyS1,9600e7', 'serial --unit=1 --speed=9600 --word=7 --parity=even'],
  ['ttyS3,38400o', 'serial --unit=3 --speed=38400 --parity=odd'],
  ['ttyS2,57600n7r', 'serial --unit=2 --speed=57600 --word=7'],
];

describe('grub.cfg (GRUB 2)', () => {
  it.each(SETTINGS)('console=%s: %s and both terminals first', (value, command) => {
    const text = renderGrubCfg(withSerial('4.17', value));
    const body = text.replace(/^(#.*\n)+\n/, '');
    expect(body.split('\n').slice(0, 5)).toEqual([
      command,
      'terminal_input serial console',
      'terminal_output serial console',
      'set default=0',
      'set timeout=10',
    ]);
  });

  it.skipIf(grubScriptCheck === null).each(SETTINGS)(`console=%s: grub-script-check accepts the grub.cfg${grubNote}`, (value) => {
    assertTool(grubScriptCheck);
    const text = renderGrubCfg(withSerial('4.17', value));
    const r = run([grubScriptCheck, tmp.file(`grub-${n++}.cfg`, text)]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('no serial console: no serial or terminal line', () => {
    const text = renderGrubCfg(withSerial('4.17', null));
    expect(text).not.toMatch(/^(serial|terminal_input|terminal_output)\b/m);
  });
});

describe('/etc/default/grub.d/xenoppix-autoconfig.cfg', () => {
  it('GRUB_TERMINAL and GRUB_SERIAL_COMMAND, quoted for sh; neither without a serial console', () => {
    const text = renderGrubDefaults(withSerial('4.17', 'ttyS1,9600e7'));
    expect(text).toContain(`GRUB_TERMINAL='serial console'\n`);
    expect(text).toContain(`GRUB_SERIAL_COMMAND='serial --unit=1 --speed=9600 --word=7 --parity=even'\n`);
    expect(renderGrubDefaults(withSerial('4.17', null))).not.toMatch(/GRUB_TERMINAL|GRUB_SERIAL_COMMAND/);
  });

  it.skipIf(dash === null)(`dash parses it${dashNote}`, () => {
    assertTool(dash);
    for (const [value] of SETTINGS) {
      const r = run([dash, '-n', tmp.file(`defaults-${n++}.cfg`, renderGrubDefaults(withSerial('4.17', value)))]);
      expect(r).toMatchObject({ status: 0, stderr: '' });
    }
  });

  it.skipIf(!hasMkconfig || dash === null || grubScriptCheck === null).each(SETTINGS)(
    `console=%s: grub-mkconfig's GRUB_TERMINAL logic and its 00_header write the lines of our grub.cfg${mkconfigNote}`,
    (value) => {
      assertTool(dash);
      assertTool(grubScriptCheck);
      const p = withSerial('4.17', value);
      // grub-mkconfig sources the settings, then turns GRUB_TERMINAL into GRUB_TERMINAL_INPUT/OUTPUT (its own block,
      // taken from the script so that a change in GRUB shows here), exports them and runs 00_header.
      const mkconfig = readFileSync(MKCONFIG, 'utf8');
      const block = /^if \[ "x\$\{GRUB_TERMINAL\}" != "x" \] ; then\n[\s\S]*?\nfi$/m.exec(mkconfig)?.[0];
      expect(block).toBeDefined();
      expect(mkconfig).toMatch(/^ {2}GRUB_SERIAL_COMMAND \\$/m); // exported to the grub.d scripts
      const settings = tmp.file(`defaults-${n++}.cfg`, renderGrubDefaults(p));
      const script = [
        `. ${settings} >/dev/null`,
        block,
        'export GRUB_TERMINAL_INPUT GRUB_TERMINAL_OUTPUT GRUB_SERIAL_COMMAND',
        `exec ${HEADER}`,
      ].join('\n');
      const r = run([dash, '-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', pkgdatadir: '/usr/share/grub' } });
      expect(r.status).toBe(0);
      const ours = renderGrubCfg(p).split('\n').filter((l) => /^(serial|terminal_input|terminal_output)\b/.test(l));
      const theirs = r.stdout.split('\n').filter((l) => /^(serial|terminal_input|terminal_output)\b/.test(l));
      expect(theirs).toEqual(ours);
      const check = run([grubScriptCheck, tmp.file(`header-${n++}.cfg`, r.stdout)]);
      expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    },
  );
});

describe('menu.lst (GRUB legacy, Xen 3.x)', () => {
  it.each(SETTINGS)('console=%s: %s, then terminal --timeout=10 serial console, before the menu', (value, command) => {
    const body = renderMenuLst(withSerial('3.0.3', value)).replace(/^(#.*\n)+\n/, '');
    expect(body.split('\n').slice(0, 4)).toEqual([command, 'terminal --timeout=10 serial console', 'default 0', 'timeout 10']);
  });

  it('no serial console: no serial or terminal line', () => {
    expect(renderMenuLst(withSerial('3.0.3', null))).not.toMatch(/^(serial|terminal)\b/m);
  });

  it.skipIf(menulst2cfg === null || grubScriptCheck === null).each(SETTINGS)(`console=%s: grub-menulst2cfg converts it and grub-script-check accepts the result${menulstNote}`, (value, command) => {
    assertTool(menulst2cfg);
    assertTool(grubScriptCheck);
    const p = withSerial('3.0.3', value);
    p.grub.entries[0]!.xenOptions = 'dom0_mem=524288 console=com1,vga com1=115200,8n1';
    p.grub.entries[0]!.kernelOptions = 'console=ttyS0,115200n8';
    // GRUB legacy skips the indentation of entry lines; grub-menulst2cfg does not (it calls them unsupported).
    const text = renderMenuLst(p).replace(/^ +/gm, '');
    const out = tmp.file(`menu-${n++}.cfg`, '');
    const r = run([menulst2cfg, tmp.file(`menu-${n++}.lst`, text), out]);
    expect(r.status).toBe(0);
    const converted = readFileSync(out, 'utf8');
    // The same options, each quoted as one GRUB word; the terminal command as GRUB 2's pair.
    const quoted = command.split(' ').map((w, i) => (i === 0 ? w : `'${w}'`)).join(' ');
    expect(converted).toContain(`${quoted}\n`);
    expect(converted).toContain('terminal_input serial console ; terminal_output serial console ;');
    expect(converted).not.toContain('Unsupported legacy command');
    const check = run([grubScriptCheck, out]);
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
