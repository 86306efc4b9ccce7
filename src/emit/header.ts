// The comment every emitted file starts with. Every format we write (menu.lst, grub.cfg, sh, modprobe.d,
// modules-load.d, xend's s-expressions, xm's Python, xl.cfg) takes `#` to the end of the line as a comment. No date
// and no version: a file must be byte-identical from run to run, so that writing it again changes nothing and the
// golden files compare.

export const GENERATED_BY = 'Written by xenoppix-autoconfig: `autoconfig explain` tells why each value is what it is.';
export const REPLACED = 'The next run replaces this file; change the rules or the boot options instead.';

/** `# ` lines: the generated-by notice, then `lines` (each split at newlines, so no line can escape the comment). */
export function commentHeader(...lines: string[]): string {
  const out: string[] = [];
  for (const line of [GENERATED_BY, REPLACED, ...lines]) {
    for (const part of line.split(/\r\n|\n|\r/)) out.push(part === '' ? '#' : `# ${part}`);
  }
  return `${out.join('\n')}\n`;
}

/** The same header as one text for formatShellVars(), which adds the `# ` itself. */
export function headerText(...lines: string[]): string {
  return [GENERATED_BY, REPLACED, ...lines].join('\n');
}
