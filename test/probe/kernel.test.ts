import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeFsPromises } from '../../src/fs.ts';
import { Reader } from '../../src/probe/_reader.ts';
import { probeKernel } from '../../src/probe/kernel.ts';
import { dataFile, machineTree, readerFor } from './_corpus.ts';

// The Legion Y520's command line as its kernel logged it ("Kernel command line: %s" prints the same saved
// command line that /proc/cmdline shows, plus a newline there).
const legionCmdline = /Kernel command line: (.*)$/m.exec(
  dataFile('notebook-lenovo-legion_y520-15ikbn-gh-sergeyklay', 'dmesg.excerpt'),
)![1]!;

describe('probeKernel', () => {
  it('reads the release and the command line', async () => {
    const tree = machineTree('this-machine-firecracker-kvm');
    tree.files!['proc/cmdline'] = `${legionCmdline}\n`;
    const reader = readerFor(tree);
    const { cmdline, kernel } = await probeKernel(reader);
    expect(kernel).toEqual({ release: '6.18.44-fc-v769' });
    expect(cmdline).toHaveLength(5);
    expect(cmdline[0]).toBe('BOOT_IMAGE=/boot/kernel-6.19.4-gentoo');
    expect(reader.diagnostics).toEqual([]);
  });

  it('knows nothing without /proc', async () => {
    const reader = readerFor({ files: {} });
    expect(await probeKernel(reader)).toEqual({ cmdline: [], kernel: { release: null } });
    expect(reader.diagnostics).toEqual([]);
  });
});

describe('probeKernel on this machine', () => {
  it.skipIf(!existsSync('/proc/cmdline'))('matches /proc/cmdline and osrelease read directly', async () => {
    const { cmdline, kernel } = await probeKernel(new Reader({ fs: nodeFsPromises, root: '/' }));
    const text = readFileSync('/proc/cmdline', 'utf8');
    // Without quotes the kernel's rules reduce to splitting on whitespace.
    if (!text.includes('"')) expect(cmdline).toEqual(text.trim().split(/\s+/).filter((t) => t !== ''));
    // Splitting only removes whitespace between tokens.
    expect(cmdline.join('').replace(/\s/g, '')).toBe(text.replace(/\s/g, ''));
    expect(kernel.release).toBe(readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
  });
});
