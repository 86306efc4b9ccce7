// Issue #12: a command with subcommands names the whole command in its help (`autoconfig corpus diff`), lists
// exactly the options that subcommand's parser accepts, and the group's own help lists its subcommands. Every
// expectation is derived from the declared tables the parsers read (src/cli/_args.ts CommandSpec), so a new option
// or subcommand is covered without touching this file.
import { describe, expect, it } from 'vitest';
import type { CommandGroup, CommandSpec } from '../../src/cli/_args.ts';
import { CORPUS } from '../../src/cli/corpus.ts';
import { IMPORT } from '../../src/cli/import.ts';
import { RULES } from '../../src/cli/rules.ts';
import { SNAPSHOT } from '../../src/cli/snapshot.ts';
import { runCli } from '../_support/cli.ts';
import { volume } from '../_support/memfs.ts';

const GROUPS: CommandGroup[] = [RULES, CORPUS];
const COMMANDS: CommandSpec[] = [SNAPSHOT, IMPORT, ...GROUPS.flatMap((g) => Object.values(g.subcommands))];
/** Every option any declared command takes: each one a command lacks must be refused by that command. */
const ALL_OPTIONS = [...new Set(COMMANDS.flatMap((c) => Object.keys(c.options)))];

/** The option names a help text lists (`  -o, --out DIR   ...` -> out), in order. */
function listedOptions(help: string): string[] {
  const section = help.slice(help.indexOf('\nOptions:\n'));
  return [...section.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]!);
}

const STRING_OPTIONS = new Set(COMMANDS.flatMap((c) => Object.entries(c.options).filter(([, s]) => s.type === 'string').map(([n]) => n)));

/** argv that hands option `name` to a parser: with a value where it takes one. */
function given(name: string): string[] {
  return STRING_OPTIONS.has(name) ? [`--${name}`, 'x'] : [`--${name}`];
}

describe.each(COMMANDS.map((c) => [c.name, c] as const))('autoconfig %s', (name, command) => {
  const words = name.split(' ');

  it.each([['--help'], ['-h']])('%s: its full name, its arguments, exactly its options, exit 0, nothing done', async (flag) => {
    const { fs, vol } = volume();
    const r = await runCli([...words, flag], fs);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')[0]).toBe(`Usage: autoconfig ${name}${command.args ? ` ${command.args}` : ''} [options]`);
    expect(r.stdout).toContain(`\n  ${command.summary}\n`);
    expect(listedOptions(r.stdout)).toEqual([...Object.keys(command.options), 'help']);
    expect(vol.toJSON()).toEqual({});
  });

  it('its parser accepts every option its help lists', async () => {
    // Parsing goes left to right and stops at the first unknown option: the error names the sentinel, so every
    // option before it was accepted. Nothing runs: the sentinel is a usage error.
    for (const option of Object.keys(command.options)) {
      const r = await runCli([...words, ...given(option), '--not-an-option'], volume().fs);
      expect(r.code, option).toBe(2);
      expect(r.stderr, option).toContain('unknown option --not-an-option');
    }
  });

  it("refuses every option of the other commands that it does not list, naming it", async () => {
    const foreign = ALL_OPTIONS.filter((o) => !(o in command.options));
    for (const option of foreign) {
      const r = await runCli([...words, ...given(option)], volume().fs);
      expect(r.code, option).toBe(2);
      expect(r.stderr, option).toContain(`autoconfig ${name}: unknown option --${option}`);
    }
  });
});

describe.each(GROUPS.map((g) => [g.name, g] as const))('autoconfig %s (a group of subcommands)', (name, group) => {
  it.each([['--help'], ['-h'], ['help']])('%s: each subcommand, one line with its arguments and summary; exit 0', async (flag) => {
    const r = await runCli([name, flag], volume().fs);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')[0]).toBe(`Usage: autoconfig ${name} <subcommand> [options]`);
    const lines = r.stdout.slice(r.stdout.indexOf('Subcommands:\n')).split('\n').slice(1);
    const listed = lines.slice(0, lines.indexOf(''));
    expect(listed).toHaveLength(Object.keys(group.subcommands).length);
    Object.entries(group.subcommands).forEach(([sub, c], i) => {
      expect(listed[i]).toMatch(new RegExp(`^ {2}${sub}${c.args ? ` ${c.args.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` : ''} +`));
      expect(listed[i]!.endsWith(c.summary)).toBe(true);
    });
  });

  it('no subcommand: a usage error listing them on stderr', async () => {
    const r = await runCli([name], volume().fs);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^autoconfig ${name}: needs a subcommand\\n\\nUsage: autoconfig ${name} <subcommand>`));
    for (const sub of Object.keys(group.subcommands)) expect(r.stderr).toMatch(new RegExp(`\\n  ${sub} `));
  });

  it('a mistyped subcommand: a usage error with a suggestion', async () => {
    // Each subcommand with two neighbouring letters swapped (lint -> lnit).
    for (const sub of Object.keys(group.subcommands)) {
      const typo = `${sub.slice(0, 1)}${sub.slice(2, 3)}${sub.slice(1, 2)}${sub.slice(3)}`;
      const r = await runCli([name, typo], volume().fs);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(`autoconfig ${name}: unknown subcommand "${typo}" (did you mean ${sub}?)`);
    }
  });

  it("the top-level help gives the group one line: its subcommands and summary", async () => {
    const r = await runCli(['--help'], volume().fs);
    expect(r.stdout).toContain(`\n  ${name.padEnd(12)} ${Object.keys(group.subcommands).join(' | ')}: ${group.summary}\n`);
  });
});
