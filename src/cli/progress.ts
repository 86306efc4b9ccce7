// What `--apply` shows while the modules load. On a terminal (the boot console), hwsetup's style: one line redrawn
// in place with \r, naming the module being loaded now (a module that hangs is on screen while it hangs), cleared
// at the end. Elsewhere (the journal, a log file, a pipe) no \r: one plain line per module as it finishes.
import type { LoadProgress, ModuleResult } from '../apply/modprobe.ts';
import type { CliIO } from './_io.ts';

export interface ModuleProgress {
  onProgress(event: LoadProgress): void;
  /** Clears the line drawn in place (terminal); nothing otherwise. */
  end(): void;
}

export function moduleProgress(io: Pick<CliIO, 'stdout' | 'isTTY'>): ModuleProgress {
  if (!io.isTTY) {
    return {
      onProgress(event) {
        if (event.phase === 'done') io.stdout(`${plainLine(event.result, event.index, event.total)}\n`);
      },
      end() {},
    };
  }
  let shown = 0;
  const draw = (line: string) => {
    // Within 79 columns: a line that wraps cannot be redrawn with \r.
    const text = line.length > 79 ? `${line.slice(0, 78)}…` : line;
    // Spaces over what is left of a longer previous line, then back to its start: no terminal escapes needed.
    io.stdout(`\r${text}${' '.repeat(Math.max(0, shown - text.length))}`);
    shown = text.length;
  };
  return {
    onProgress(event) {
      if (event.phase === 'start') draw(`Loading modules: [${event.index}/${event.total}] ${event.name}`);
    },
    end() {
      if (shown > 0) io.stdout(`\r${' '.repeat(shown)}\r`);
      shown = 0;
    },
  };
}

/** `autoconfig: loaded e1000e (3/12, 41 ms)`, `autoconfig: failed x (4/12, 12 ms): modprobe exited with 1`. */
export function plainLine(result: ModuleResult, index: number, total: number): string {
  const where = result.status === 'skipped' ? `${index}/${total}` : `${index}/${total}, ${result.ms} ms`;
  const detail = result.status === 'loaded' ? '' : `: ${result.detail.replace(/^skipped: /, '')}`;
  return `autoconfig: ${result.status} ${result.name} (${where})${detail}`;
}
