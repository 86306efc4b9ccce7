// Test support for the deciders (src/plan/*.ts): a fixture decided at a target, with words appended to its boot
// line where a test needs a cheatcode (before any `--`, after which the words are init's).
import { decide, type Decided } from '../../src/plan/decide.ts';
import { loadFixture } from '../_support/memfs.ts';

const cache = new Map<string, Promise<Decided>>();

/** decide() of the fixture at `xen`; shared between the tests of a file (deciders do not change it). */
export function decided(fixture: string, xen: string, extra = ''): Promise<Decided> {
  const key = `${fixture} ${xen} ${extra}`;
  if (!cache.has(key)) cache.set(key, run(fixture, xen, extra));
  return cache.get(key)!;
}

async function run(fixture: string, xen: string, extra: string): Promise<Decided> {
  const { fs, sync, root } = loadFixture(fixture);
  if (extra !== '') {
    const path = `${root}/proc/cmdline`;
    const captured = sync.existsSync(path) ? String(sync.readFileSync(path, 'utf8')).trim() : '';
    const [kernel, ...init] = captured.split(/ -- /);
    sync.mkdirSync(`${root}/proc`, { recursive: true });
    sync.writeFileSync(path, `${[[kernel, extra].filter((s) => s).join(' '), ...init].join(' -- ')}\n`);
  }
  return decide({ fs, root, xen });
}
