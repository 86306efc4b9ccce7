// The `autoconfig` command: dispatch to one file per command. argv and output are injected (citty's runMain
// style) so that tests run the real CLI in-process.
import { isatty } from 'node:tty';
import { isAutoconfigError } from '../errors.ts';
import { nodeFsPromises, type WritableFsLike } from '../fs.ts';
import { VERSION } from '../version.ts';
import { forDisplay } from './_display.ts';
import { EXIT, processOutput, type CliIO } from './_io.ts';
import { didYouMean, formatOptions, HelpRequest, type OptionSpec } from './_args.ts';
import { CONFIGURE_FLAGS, CONFIGURE_OPTIONS, runConfigure } from './configure.ts';
import { runDrivers } from './drivers.ts';
import { runExplain } from './explain.ts';
import { runImport } from './import.ts';
import { runInstallBoot } from './install-boot.ts';
import { runProbe } from './probe.ts';
import { runRules } from './rules.ts';
import { runSnapshot } from './snapshot.ts';
import { runCorpusCommand } from './corpus.ts';

export interface MainOptions {
  argv: readonly string[];
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  fs?: WritableFsLike;
  cwd?: string;
  /** Whether stdout is a terminal; default: process.stdout's, or false when `stdout` is given (captured output). */
  isTTY?: boolean;
}

const COMMANDS: Record<string, { run: (argv: readonly string[], io: CliIO) => Promise<number>; summary: string }> = {
  probe: { run: runProbe, summary: 'show the hardware profile of this machine (or --root DIR)' },
  snapshot: { run: runSnapshot, summary: 'capture what the probes read into a directory (--out DIR)' },
  import: { run: runImport, summary: 'build a snapshot from published hardware logs (LOGDIR --out DIR)' },
  drivers: { run: runDrivers, summary: 'match every device against the kernel module data, like kmod' },
  explain: { run: runExplain, summary: 'every decision of the rules with rule, file:line and evidence [TOPIC]' },
  rules: { run: runRules, summary: 'rules lint [DIR...]: check rule files' },
  corpus: { run: runCorpusCommand, summary: 'run | diff | check DIR...: the rules over many machines (docs/rules.md)' },
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
  return run(first, command.run, rest, io);
}

/** A command's --help: its line of the command table, then its options as its parser declares them. */
function commandHelp(name: string, spec: Record<string, OptionSpec>): string {
  const head =
    name === ''
      ? 'Usage: autoconfig --dry-run | --write [--apply] [options]'
      : `Usage: autoconfig ${name} [options]\n\n  ${COMMANDS[name]?.summary ?? ''}`;
  return `${head}\n\nOptions:\n${formatOptions({ ...spec, help: { type: 'boolean', short: 'h' } })}\n`;
}

async function run(
  name: string,
  command: (argv: readonly string[], io: CliIO) => Promise<number>,
  argv: readonly string[],
  io: CliIO,
): Promise<number> {
  // The user's own command in messages: `autoconfig: ...` for --dry-run/--write, `autoconfig probe: ...` for probe.
  const label = name === '' ? 'autoconfig' : `autoconfig ${name}`;
  try {
    return await command(argv, io);
  } catch (error) {
    if (error instanceof HelpRequest) {
      io.stdout(commandHelp(name, error.spec));
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
