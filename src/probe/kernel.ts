// The running kernel: its release and its command line. The command line is split the way the kernel's own
// parser (kernel/params.c next_arg()) splits it, so `foo="a b"` stays one token and the emitted Xen/GRUB lines
// can carry a user's quoted options through unchanged.
import { splitCmdline } from '../cmdline.ts';
import type { Kernel } from '../types.ts';
import type { Reader } from './_reader.ts';

export async function probeKernel(reader: Reader): Promise<{ cmdline: string[]; kernel: Kernel }> {
  const [cmdline, release] = await Promise.all([
    reader.text('/proc/cmdline'),
    reader.attr('/proc/sys/kernel/osrelease'),
  ]);
  const trimmed = release?.trim();
  return { cmdline: splitCmdline(cmdline ?? ''), kernel: { release: trimmed ? trimmed : null } };
}
