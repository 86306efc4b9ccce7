// The `autoconfig` command: dispatch to one file per command. argv and output are injected (citty's runMain
// style) so that tests run the real CLI in-process.
import { isatty } from 'node:tty';
import { isAutoconfigError } from '../errors.ts';
import { nodeFsPromises, type WritableFsLike } from '../fs.ts';
import { VERSION } from '../version.ts';
import { forDisplay } from './_display.ts';
import { EXIT, processOutput, type CliIO } from './_io.ts';
import { didYouMean, formatCommandHelp, formatGroupHelp, formatOptions, groupSummary, HelpRequest, type CommandGroup } from './_args.ts';
import { CONFIGURE_FLAGS, CONFIGURE_OPTIONS, runConfigure } from './configure.ts';
import { runDrivers } from './drivers.ts';
import { runExplain } from './explain.ts';
import { IMPORT, runImport } from './import.ts';
import { runInstallBoot } from './install-boot.ts';
import { runProbe } from './probe.ts';
import { RULES, runRules } from './rules.ts';
import { runSnapshot, SNAPSHOT } from './snapshot.ts';
import { CORPUS, runCorpusCommand } from './corpus.ts';

export interface MainOptions {
  argv: readonly string[];
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  fs?: WritableFsLike;
  cwd?: string;
  /** Whether stdout is a terminal; default: process.stdout's, or false when `stdout` is given (captured output). */
  isTTY?: boolean;
}

interface Command {
  run: (argv: readonly string[], io: CliIO) => Promise<number>;
  summary: string;
  /** Its subcommands, for a command that is only a group of them: messages then name the subcommand too. */
  group?: CommandGroup;
}

const COMMANDS: Record<string, Command> = {
  probe: { run: runProbe, summary: 'show the hardware profile of this machine (or --root DIR)' },
  // Declared with their parsers (one table each); the summaries here are those tables'.
  snapshot: { run: runSnapshot, summary: `${SNAPSHOT.args}: ${SNAPSHOT.summary}` },
  import: { run: runImport, summary: `${IMPORT.args}: ${IMPORT.summary}` },
  drivers: { run: runDrivers, summary: 'match every device against the kernel module data, like kmod' },
  explain: { run: runExplain, summary: 'every decision of the rules with rule, file:line and evidence [TOPIC]' },
  rules: { run: runRules, summary: groupSummary(RULES), group: RULES },
  corpus: { run: runCorpusCommand, summary: groupSummary(CORPUS), group: CORPUS },
  'install-boot': {
    run: runInstallBoot,
    summary: 'install the systemd unit and init script that run --write --apply at boot [--target DIR] [--exec PATH] [--remove] [--dry-run]',
  },
};

export const USAGE = `autoconfig ${VERSION}: probe this machine and configure Xen, Dom0 and its drivers

Usage: autoconfig --dry-run [options]            what would be done, and why; writes nothing
       autoconfig --write [--apply] [options]    write the files as one set; --apply also loads the Dom0 modules
       autoconfig <command> [options]            autoconfig <command> --help tells its options

Options of --dry-run, --write and --apply:
${formatOptions(CONFIGURE_OPTIONS)}

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

  -h, --help   this text; -V, --version the version

Exit codes: 0 ok, 1 error (nothing written), 2 usage error, 3 the safe plan was used after a failure,
4 files written but some modules failed to load or timed out, 5 files partly written (the listing says which).
`;

export async function main(options: MainOptions): Promise<number> {
  // The process's own output fails softly (EPIPE, ENOSPC): the work goes on and its exit code stands.
  const out = options.stdout && options.stderr ? null : processOutput();
  const io: CliIO = {
    stdout: options.stdout ?? out!.stdout,
    stderr: options.stderr ?? out!.stderr,
    fs: options.fs ?? nodeFsPromises,
    cwd: options.cwd ?? process.cwd(),
    isTTY: options.isTTY ?? (options.stdout === undefined && isatty(1)),
    ...(out ? { outputFailures: out.failures } : {}),
  };
  const [first, ...rest] = options.argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout(USAGE);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    io.stdout(`${VERSION}\n`);
    return EXIT.ok;
  }
  // The main use has no command word: `autoconfig --dry-run`, `autoconfig --write --apply`. A command word comes
  // first (`install-boot --dry-run` is install-boot's own dry run).
  const command = COMMANDS[first];
  if (!command && options.argv.some((a) => CONFIGURE_FLAGS.includes(a))) return run('', runConfigure, options.argv, io);
  if (!command) {
    const words = [...Object.keys(COMMANDS), ...CONFIGURE_FLAGS, '--help', '--version'];
    const hint = first === '-v' ? ' (did you mean --version?)' : didYouMean(first, words);
    io.stderr(`autoconfig: unknown ${first.startsWith('-') ? 'option' : 'command'} "${first}"${hint}\n\n${USAGE}`);
    return EXIT.usage;
  }
  // `autoconfig corpus diff: ...`: the subcommand the user typed, when it is one.
  const sub = command.group && rest[0] !== undefined && Object.hasOwn(command.group.subcommands, rest[0]) ? rest[0] : null;
  return run(first, command.run, rest, io, `autoconfig ${first}${sub ? ` ${sub}` : ''}`);
}

/**
 * A command's --help, from the table its parser read: a declared command or subcommand names itself in full
 * (`autoconfig corpus diff`), a group lists its subcommands; a bare spec takes the command's line of COMMANDS.
 */
function commandHelp(name: string, request: HelpRequest): string {
  const declared = request.command;
  if (declared) return 'subcommands' in declared ? formatGroupHelp(declared) : formatCommandHelp(declared);
  if (name !== '') return formatCommandHelp({ name, summary: COMMANDS[name]?.summary ?? '', options: request.spec });
  return `Usage: autoconfig --dry-run | --write [--apply] [options]\n\nOptions:\n${formatOptions({ ...request.spec, help: { type: 'boolean', short: 'h' } })}\n`;
}

async function run(
  name: string,
  command: (argv: readonly string[], io: CliIO) => Promise<number>,
  argv: readonly string[],
  io: CliIO,
  // The user's own command in messages: `autoconfig: ...` for --dry-run/--write, `autoconfig probe: ...` for probe.
  label = name === '' ? 'autoconfig' : `autoconfig ${name}`,
): Promise<number> {
  try {
    return await command(argv, io);
  } catch (error) {
    if (error instanceof HelpRequest) {
      io.stdout(commandHelp(name, error));
      return EXIT.ok;
    }
    if (isAutoconfigError(error)) {
      io.stderr(`${label}: ${forDisplay(error.message)}\n`);
      return error.code === 'E_USAGE' ? EXIT.usage : EXIT.error;
    }
    io.stderr(`${label}: internal error: ${forDisplay(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    return EXIT.error;
  }
}
