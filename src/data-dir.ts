// Where the shipped data (pci.ids, usb.ids, kernel module metadata, compiled rules) lives. The same code runs
// from src/ (tests, tsx), from dist/ (the bundle) and from an installed package, so look upward from this file.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function dataDir(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'data');
    if (existsSync(join(candidate, 'pci.ids'))) return (cached = candidate);
    dir = dirname(dir);
  }
  // Not found: callers report a missing file by its path under the package's data/.
  return (cached = join(dirname(dirname(fileURLToPath(import.meta.url))), 'data'));
}
