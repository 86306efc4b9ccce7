// The `autoconfig` command: dispatch to one file per command. argv and output are injected (citty's runMain
// style) so that tests run the real CLI in-process.
import { isatty } from 'node:tty';
import { isAutoconfigError } from '../errors.ts';
import { nodeFsPromises, type WritableFsLike } from '../fs.ts';
import { VERSION } from '../version.ts';
import { forDisplay } from './_display.ts';
import { EXIT, processOutput, type CliIO } from './_io.ts';
import { CONFIGURE_FLAGS, runConfigure } from './configure.ts';
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

Usage: autoconfig --dry-run [--root DIR] [--xen VERSION] [--rules DIR]... [--json]
       autoconfig --write [--apply] [--target DIR] [--root DIR] [--xen VERSION] [--rules DIR]...
       autoconfig install-boot [--target DIR] [--exec PATH] [--remove] [--dry-run] [--json]
       autoconfig <command> [options]

  --dry-run    show the verdicts, the decisions and every file that would be written (as a diff); writes nothing
  --write      write the files inside the target root as one set, all or none (default: the --root, i.e. /);
               one run at a time: another run's lock is waited for --lock-timeout MS (1-600000, default 5000)
  --apply      also load the Dom0 modules with modprobe, each within --module-timeout MS (1-120000, default 4000)

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

Common options:
  --root DIR   read the machine under DIR (a snapshot or a mounted system) instead of /
  --json       machine-readable output
  --help       this text; --version the version

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
  if (!command && options.argv.some((a) => CONFIGURE_FLAGS.includes(a))) return run('configure', runConfigure, options.argv, io);
  if (!command) {
    io.stderr(`autoconfig: unknown command "${first}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  return run(first, command.run, rest, io);
}

async function run(
  name: string,
  command: (argv: readonly string[], io: CliIO) => Promise<number>,
  argv: readonly string[],
  io: CliIO,
): Promise<number> {
  try {
    return await command(argv, io);
  } catch (error) {
    if (isAutoconfigError(error)) {
      io.stderr(`autoconfig ${name}: ${forDisplay(error.message)}\n`);
      return error.code === 'E_USAGE' ? EXIT.usage : EXIT.error;
    }
    io.stderr(`autoconfig ${name}: internal error: ${forDisplay(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    return EXIT.error;
  }
}
