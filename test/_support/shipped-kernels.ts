// The reference kernels autoconfig ships (data/kernel/<release>) and the Debian package each came from, as
// scripts/update-kernel-data.sh records it in data/kernel/<release>/SOURCE: the tests that rebuild a tree for the
// real kmod, or boot that kernel, fetch the same package from the same suite.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const kernelDir = join(repo, 'data', 'kernel');

export interface ShippedKernel {
  release: string;
  package: string;
  /** The Debian suite ("trixie"), or null for the machine's own apt sources. */
  suite: string | null;
  /** The Xen series the same Debian release ships ("4.20"), or null when SOURCE does not say. */
  xen: string | null;
}

function readSource(release: string): ShippedKernel {
  const file = join(kernelDir, release, 'SOURCE');
  const fields = new Map<string, string>();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  const suite = fields.get('suite') ?? 'default';
  return {
    release,
    package: fields.get('package') ?? `linux-image-${release}`,
    suite: suite === 'default' ? null : suite,
    xen: fields.get('xen') ?? null,
  };
}

/** Oldest first, in the version order autoconfig's loader uses (the last one is the reference it reads). */
export const shippedKernels: readonly ShippedKernel[] = readdirSync(kernelDir)
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  .map(readSource);

/** The reference autoconfig reads when a target has no modules of its own (src/modalias/kernel-data.ts). */
export const referenceKernel: ShippedKernel = shippedKernels.at(-1)!;

/** `apt-get`/`apt-cache` argv for a kernel's suite: the machine's apt, or scripts/apt-suite.sh for another suite. */
export function aptCommand(suite: string | null, tool: 'apt-get' | 'apt-cache', args: string[]): [string, string[]] {
  return suite === null ? [tool, args] : ['bash', [join(repo, 'scripts', 'apt-suite.sh'), suite, tool, ...args]];
}
