// Types of bundle-options.mjs for the TypeScript tests that import it.
import type { BuildOptions } from 'esbuild';
export function commonOptions(root: string): BuildOptions;
export function cliOptions(root: string, outfile: string): BuildOptions;
