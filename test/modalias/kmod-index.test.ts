// The .bin reader on depmod's real output for Debian's 6.1.0-56-amd64 (shipped in data/kernel): what it reads
// equals the text files depmod wrote in the same run, its wildcard search equals the text index and `modprobe -R`,
// and truncated or damaged copies of the same files give a KmodIndexError naming the file, never another
// exception or a search without end.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuiltinModinfo, parseModuleList, parseModulesAlias, parseModulesDep } from '../../src/modalias/alias-file.ts';
import { moduleName, normalizeAlias, toByteString } from '../../src/modalias/glob.ts';
import { AliasIndexBuilder, type AliasSink } from '../../src/modalias/index-build.ts';
import { KmodIndex, KmodIndexError } from '../../src/modalias/kmod-index.ts';
import { BIN_FILES, kmodTree, loopedAliasIndex, modprobeResolve, oracleQueries, readText, measuredDir, repo, sysModaliases } from './_kmod.ts';

const bytes = (name: string) => readFileSync(join(measuredDir, name));
const open = (name: string) => KmodIndex.open(bytes(name), join(measuredDir, name));
const recorded = (parse: (sink: AliasSink) => unknown) => {
  const pairs: string[] = [];
  parse({ add: (pattern, module) => pairs.push(`${pattern} ${module}`) });
  return pairs;
};
const unique = (names: string[]) => [...new Set(names)];

describe('the shipped .bin files hold what the text files of the same depmod run say', () => {
  it('modules.alias.bin: every normalized pattern of modules.alias, its module ranked by modules.order', () => {
    const entries = open('modules.alias.bin').entries();
    const text = recorded((sink) => parseModulesAlias(readText(join(measuredDir, 'modules.alias')), 'modules.alias', sink));
    expect(entries.map((e) => `${e.key} ${e.value}`).sort()).toEqual(text.sort());
    expect(entries.length).toBe(26_222);
    // depmod's priority is the module's (0-based) line in modules.order.
    const order = new Map(parseModuleList(readText(join(measuredDir, 'modules.order'))).map((m, i) => [m, i]));
    const wrong = entries.filter((e) => e.priority !== order.get(e.value));
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('modules.builtin.alias.bin: the alias records of modules.builtin.modinfo; modules.builtin.bin: modules.builtin', () => {
    const aliases = open('modules.builtin.alias.bin').entries();
    const modinfo = recorded((sink) => parseBuiltinModinfo(readText(join(measuredDir, 'modules.builtin.modinfo')), 'x', sink));
    expect(aliases.map((e) => `${e.key} ${e.value}`).sort()).toEqual(modinfo.sort());
    expect(aliases.length).toBe(62);
    const builtin = open('modules.builtin.bin');
    const names = parseModuleList(readText(join(measuredDir, 'modules.builtin')));
    expect(builtin.entries().map((e) => e.key).sort()).toEqual([...names].sort());
    for (const name of names) expect(builtin.search(name), name).toBe('');
  });

  it("modules.dep.bin: exact search gives every module's modules.dep line, and only modules are keys", () => {
    const dep = open('modules.dep.bin');
    const lines = readText(join(measuredDir, 'modules.dep')).split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(4023);
    const differ = lines.filter((line) => dep.search(moduleName(line.slice(0, line.indexOf(':')))) !== line);
    expect(differ.slice(0, 5)).toEqual([]);
    const { deps } = parseModulesDep(lines.join('\n'), 'modules.dep');
    expect(dep.entries().map((e) => e.key).sort()).toEqual([...deps.keys()].sort());
  });
});

describe('search: index_mm_search', () => {
  const dep = open('modules.dep.bin');

  it('finds whole keys only', () => {
    expect(dep.search('ext4')).toBe('kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko');
    expect(dep.search('xen_netback')).toBe('kernel/drivers/net/xen-netback/xen-netback.ko:');
    // A proper prefix of keys (an inner node without values), a longer key, another case, nothing.
    for (const key of ['ext', 'xen_net', 'ext4x', 'EXT4', 'xen-netback', '', 'pci:v*']) expect(dep.search(key), key).toBeNull();
    // The key ends at a NUL, as in C.
    expect(dep.search('ext4\0junk')).toBe(dep.search('ext4'));
  });
});

describe('searchWild: index_mm_searchwild', () => {
  const alias = open('modules.alias.bin');
  const builtinAlias = open('modules.builtin.alias.bin');

  it("merges values as add_value(): by priority, duplicates kept (kmod's printed order)", () => {
    // matching.md §1.4, measured with modprobe -R: radeon amdgpu amdgpu; 8139cp 8139too 8139too; uas usb_storage.
    expect(alias.searchWildValues('pci:v00001002d00006798sv00001002sd00003000bc03sc00i00')).toEqual([
      { value: 'radeon', priority: 468 },
      { value: 'amdgpu', priority: 469 },
      { value: 'amdgpu', priority: 469 },
    ]);
    expect(alias.searchWild('pci:v000010ECd00008139sv000010ECsd00008139bc02sc00i00')).toEqual(['8139cp', '8139too', '8139too']);
    expect(alias.searchWild('usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00')).toEqual(['uas', 'usb_storage']);
    expect(alias.searchWild('xen_backend:vbd')).toEqual(['xen_blkback']);
    expect(alias.searchWild('xen-backend:vbd')).toEqual([]); // keys are normalized; normalizing the query is the caller's
    expect(builtinAlias.searchWild('xen:vfb')).toEqual(['xen_fbfront']);
  });

  it('answers as the text index for every query of the kmod cross-check', () => {
    const aliases = new AliasIndexBuilder();
    parseModulesAlias(readText(join(measuredDir, 'modules.alias')), 'modules.alias', aliases);
    const order = new Map(parseModuleList(readText(join(measuredDir, 'modules.order'))).map((m, i) => [m, i]));
    const text = aliases.build((m) => order.get(m) ?? Infinity);
    const builtins = new AliasIndexBuilder();
    parseBuiltinModinfo(readText(join(measuredDir, 'modules.builtin.modinfo')), 'x', builtins);
    const builtinText = builtins.build(() => 0);
    const queries = oracleQueries()
      .queries.map((q) => normalizeAlias(toByteString(q)))
      .filter((q): q is string => q !== null);
    expect(queries.length).toBeGreaterThan(6000);
    const differ = queries.filter(
      (q) =>
        JSON.stringify(unique(alias.searchWild(q))) !== JSON.stringify(text.lookup(q)) ||
        JSON.stringify(unique(builtinAlias.searchWild(q))) !== JSON.stringify(builtinText.lookup(q)),
    );
    expect(differ.slice(0, 5)).toEqual([]);
  });
});

describe('the bytes as given (the reader copies no file into a string)', () => {
  it.each(BIN_FILES)('%s as a plain Uint8Array at an offset into a larger buffer: the same entries and answers', (name) => {
    const file = bytes(name);
    // Not a Buffer, and not at the start of its ArrayBuffer: positions must be the view's, not the buffer's.
    const backing = new Uint8Array(file.length + 64).fill(0xff);
    backing.set(file, 37);
    const view = new Uint8Array(backing.buffer, 37, file.length);
    const ours = KmodIndex.open(view, name);
    const reference = open(name);
    const entries = reference.entries();
    expect(ours.entries()).toEqual(entries);
    const keys = unique(entries.map((e) => e.key));
    const differ = keys.filter(
      (k) => ours.search(k) !== reference.search(k) || JSON.stringify(ours.searchWildValues(k)) !== JSON.stringify(reference.searchWildValues(k)),
    );
    expect(differ.slice(0, 5)).toEqual([]);
  });

  it('a byte above 0x7f in a value or prefix is one char, as C sees it (never decoded as UTF-8)', () => {
    const file = bytes('modules.dep.bin');
    const value = 'kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko';
    const at = file.indexOf(value);
    expect(at).toBeGreaterThan(0);
    expect(file.indexOf(value, at + 1)).toBe(-1);
    // "ext4.ko" -> "ext\xe94.ko" in the value (the key 'ext4' is elsewhere, in the nodes' prefixes).
    file[at + 'kernel/fs/ext4/ext'.length] = 0xe9;
    const damaged = KmodIndex.open(file, 'modules.dep.bin');
    expect(damaged.search('ext4')).toBe('kernel/fs/ext4/ext\u00e9.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko');
    // And in a key: a node prefix ends with the key's last 6 chars and a NUL, once in the file.
    const alias = bytes('modules.alias.bin');
    const once = (text: string) => alias.indexOf(text) > 0 && alias.indexOf(text, alias.indexOf(text) + 1) < 0;
    const key = KmodIndex.open(alias, 'x')
      .entries()
      .map((e) => e.key)
      .find((k) => k.length > 20 && once(`${k.slice(-6)}\0`));
    expect(key).toBeDefined();
    alias[alias.indexOf(`${key!.slice(-6)}\0`)] = 0xc3;
    const changed = KmodIndex.open(alias, 'x').entries().map((e) => e.key);
    expect(changed).toContain(`${key!.slice(0, -6)}\u00c3${key!.slice(-5)}`);
  });
});

describe('openAt: pages read at positions when a lookup first reaches them', () => {
  /** A pread over the real file's bytes that counts the pages asked for. */
  const preadOf = (file: Buffer) => {
    const reads: number[] = [];
    const readAt = (buffer: Uint8Array, position: number) => {
      reads.push(position);
      const n = Math.max(0, Math.min(buffer.length, file.length - position));
      buffer.set(file.subarray(position, position + n));
      return n;
    };
    return { reads, readAt };
  };
  const queries = oracleQueries()
    .queries.map((q) => normalizeAlias(toByteString(q)))
    .filter((q): q is string => q !== null);

  // 4096 as kernel-data.ts reads; 257 so that nodes, prefixes, values and u32s straddle pages everywhere.
  it.each(BIN_FILES.flatMap((name) => [4096, 257].map((page) => [name, page] as const)))(
    '%s in pages of %i bytes: the entries, and the answer to every query of the kmod cross-check, as read whole',
    (name, page) => {
      const file = bytes(name);
      const whole = open(name);
      const paged = KmodIndex.openAt(file.length, preadOf(file).readAt, name, page);
      const entries = whole.entries();
      const keys = name === 'modules.dep.bin' || name === 'modules.builtin.bin' ? unique(entries.map((e) => e.key)) : queries;
      const differ = keys.filter(
        (k) => paged.search(k) !== whole.search(k) || JSON.stringify(paged.searchWildValues(k)) !== JSON.stringify(whole.searchWildValues(k)),
      );
      expect(differ.slice(0, 5)).toEqual([]);
      expect(paged.entries()).toEqual(entries);
    },
  );

  it("a fixture's lookups read a small part of the reference kernel's two large indexes", () => {
    const alias = preadOf(bytes('modules.alias.bin'));
    const dep = preadOf(bytes('modules.dep.bin'));
    const aliases = KmodIndex.openAt(bytes('modules.alias.bin').length, alias.readAt, 'modules.alias.bin');
    const deps = KmodIndex.openAt(bytes('modules.dep.bin').length, dep.readAt, 'modules.dep.bin');
    const devices = sysModaliases(join(repo, 'fixtures', 'thinkpad-t60', 'root'));
    expect(devices.length).toBeGreaterThan(20);
    let found = 0;
    for (const d of devices) {
      const q = normalizeAlias(toByteString(d.modalias));
      for (const module of q === null ? [] : unique(aliases.searchWild(q))) {
        found++;
        expect(deps.search(module), module).not.toBeNull();
      }
    }
    expect(found).toBeGreaterThan(10);
    // Each page once, and a fifth or less of them.
    for (const [r, name] of [[alias, 'modules.alias.bin'], [dep, 'modules.dep.bin']] as const) {
      expect(new Set(r.reads).size).toBe(r.reads.length);
      expect(r.reads.length * 4096, name).toBeLessThan(bytes(name).length / 5);
    }
  });

  it('a file cut after it was opened, or a read that fails: a KmodIndexError naming the file and the offset', () => {
    const file = bytes('modules.dep.bin');
    // The header and the root (written last) read; the first half of the file gone since the open.
    const { readAt } = preadOf(file);
    const index = KmodIndex.openAt(file.length, (buffer, position) => (position < file.length >> 1 && position > 0 ? 0 : readAt(buffer, position)), 'modules.dep.bin');
    // Some module's node lies in the lost half.
    const names = open('modules.dep.bin').entries().map((e) => e.key);
    let error: unknown = null;
    for (const name of names) {
      try {
        index.search(name);
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(error).toBeInstanceOf(KmodIndexError);
    expect((error as KmodIndexError).message).toMatch(/^modules\.dep\.bin: the file ends before its size of \d+ bytes \(changed while in use\) at offset \d+$/);
    const failing = KmodIndex.openAt(file.length, preadOf(file).readAt, 'modules.dep.bin', 4096);
    const eio = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    let calls = 0;
    expect(failing.search('ext4')).toBe(open('modules.dep.bin').search('ext4'));
    expect(() => {
      const flaky = KmodIndex.openAt(
        file.length,
        (buffer, position) => {
          if (++calls > 3) throw eio;
          return readAt(buffer, position);
        },
        'modules.dep.bin',
      );
      names.forEach((n) => flaky.search(n));
    }).toThrow(/^modules\.dep\.bin: cannot read \(EIO\) at offset \d+$/);
    expect(calls).toBeGreaterThan(3);
  });
});

const tree = await kmodTree();
describe.skipIf(typeof tree !== 'object' || !tree.shipped)('keys as queries, against modprobe -R', () => {
  it("follows kmod's literal descent, wildcards in the query included", async () => {
    if (typeof tree !== 'object') return;
    // A query that is itself a pattern reaches that pattern's node literally too: kmod then answers even where
    // fnmatch(pattern, query) fails (`[4-5]` does not match the char `[`). Every key with `[` or `?`, and a sample.
    // The reference release's own index (the tree modprobe reads is built from the same package).
    const treeIndex = () => KmodIndex.open(readFileSync(join(tree.dir, 'modules.alias.bin')), join(tree.dir, 'modules.alias.bin'));
    const keys = unique(treeIndex().entries().map((e) => e.key));
    const queries = keys.filter((k, i) => /[[?]/.test(k) || i % 60 === 0);
    let theirs: string[][];
    const conf = mkdtempSync(join(tmpdir(), 'kmod-index-'));
    try {
      theirs = await modprobeResolve(tree, queries, [conf]);
    } finally {
      rmSync(conf, { recursive: true, force: true });
    }
    const alias = treeIndex();
    const ours = queries.map((q) => unique(alias.searchWild(q)));
    const differ = queries.filter((_, i) => JSON.stringify(ours[i]) !== JSON.stringify(theirs[i]));
    expect(differ.slice(0, 5)).toEqual([]);
    expect(queries.length).toBeGreaterThan(500);
    expect(ours.filter((m) => m.length > 0).length).toBeGreaterThan(500);
  }, 60_000);
});

/** Runs `work` on a damaged copy: it may answer or throw a KmodIndexError naming the file, nothing else. */
function outcome(file: string, work: () => void): 'answered' | 'error' {
  try {
    work();
    return 'answered';
  } catch (error) {
    expect(error).toBeInstanceOf(KmodIndexError);
    expect((error as KmodIndexError).message.startsWith(`${file}: `)).toBe(true);
    expect((error as KmodIndexError).code).toBe('E_PARSE');
    return 'error';
  }
}

describe('damaged copies of the real files', () => {
  it.each(BIN_FILES)('%s cut anywhere: the open fails, naming the file', (name) => {
    const whole = bytes(name);
    const file = `/lib/modules/x/${name}`;
    // Every length for the small files; for the large ones the first and last 64 and 200 in between.
    const lengths = new Set<number>();
    for (let n = 0; n < whole.length; n++) {
      if (whole.length < 10_000 || n < 64 || n >= whole.length - 64 || n % Math.floor(whole.length / 200) === 0) lengths.add(n);
    }
    for (const n of lengths) {
      // depmod writes the root node last, so no cut leaves it whole.
      expect(() => KmodIndex.open(whole.subarray(0, n), file), `${n} bytes`).toThrow(KmodIndexError);
    }
    expect(() => KmodIndex.open(whole.subarray(0, 11), file)).toThrow(`${file}: 11 bytes, too short for a kmod index (12-byte header)`);
    expect(() => KmodIndex.open(whole.subarray(0, whole.length - 1), file)).toThrow(file);
  });

  it('a damaged header is named for what it is', () => {
    const file = '/m/modules.dep.bin';
    const flip = (at: number, bit: number) => {
      const copy = Buffer.from(bytes('modules.dep.bin'));
      copy[at]! ^= 1 << bit;
      return copy;
    };
    expect(() => KmodIndex.open(flip(0, 0), file)).toThrow(`${file}: not a kmod index (magic 0xb107f457, expected 0xb007f457)`);
    expect(() => KmodIndex.open(flip(5, 0), file)).toThrow(`${file}: unsupported kmod index version 0x00030001 (expected 0x0002xxxx)`);
    // The minor version is not checked, as in libkmod.
    expect(KmodIndex.open(flip(7, 1), file).search('ext4')).toBe(open('modules.dep.bin').search('ext4'));
    expect(() => KmodIndex.open(flip(8, 3), file)).toThrow(/^\/m\/modules\.dep\.bin: the root node at offset \d+, outside the file's nodes/);
  });

  it('a child offset that loops back: found when a lookup gets there, never a search without end', () => {
    const looped = loopedAliasIndex();
    const file = '/m/modules.alias.bin';
    const index = KmodIndex.open(looped, file);
    // Lookups that do not pass the damaged node still answer.
    expect(index.searchWild('usb:v0781p5567d0100dc00dsc00dp00ic08isc06ip50in00')).toEqual(['uas', 'usb_storage']);
    expect(() => index.searchWild('pci:v00001002d00006798sv00001002sd00003000bc03sc00i00')).toThrow(
      /^\/m\/modules\.alias\.bin: a second path to this node: child offsets loop or share nodes \(node at offset \d+\)$/,
    );
    expect(() => KmodIndex.open(looped, file).entries()).toThrow(KmodIndexError);
  });

  it('every single-bit flip of modules.builtin.alias.bin: an answer or a KmodIndexError', () => {
    const whole = bytes('modules.builtin.alias.bin');
    const file = '/m/modules.builtin.alias.bin';
    const queries = ['xen:vfb', 'xen:vkbd', 'platform:rtc_cmos', 'fs_debugfs', 'crypto_rsa', 'cxl:t6x', 'a', ''];
    let errors = 0;
    for (let at = 0; at < whole.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Buffer.from(whole);
        copy[at]! ^= 1 << bit;
        const result = outcome(file, () => {
          const index = KmodIndex.open(copy, file);
          index.entries();
          for (const q of queries) index.searchWild(q), index.search(q);
        });
        if (result === 'error') errors++;
      }
    }
    // Flips inside names and patterns leave a well-formed (different) index: no format can tell.
    expect(errors).toBeGreaterThan(1000);
  }, 60_000);

  it.each([
    // The magic and major version bytes at least; elsewhere a flip is found only by the reads that meet it, and
    // these lookups read a small part of modules.alias.bin.
    ['modules.alias.bin', false, 6],
    // Every node of modules.dep.bin (entries()) and every module's key; most of the file is module paths.
    ['modules.dep.bin', true, 40],
  ] as const)('300 bit flips all over %s: an answer or a KmodIndexError', (name, all, least) => {
    const queries = oracleQueries().queries.filter((_, i) => i % 150 === 0);
    const names = [...parseModulesDep(readText(join(measuredDir, 'modules.dep')), 'x').deps.keys()];
    const whole = bytes(name);
    const file = `/m/${name}`;
    const flips = 300;
    let errors = 0;
    for (let k = 0; k < flips; k++) {
      const copy = Buffer.from(whole);
      // Spread over the file, the header and the last bytes (the root node) included.
      const at = k < 12 ? k : k >= flips - 12 ? whole.length - (flips - k) : Math.floor((k * whole.length) / flips) + (k % 4);
      copy[at]! ^= 1 << (k % 8);
      const result = outcome(file, () => {
        const index = KmodIndex.open(copy, file);
        if (all) index.entries();
        for (const q of queries) index.searchWild(normalizeAlias(toByteString(q)) ?? '');
        for (const n of names) index.search(n);
      });
      if (result === 'error') errors++;
    }
    expect(errors).toBeGreaterThanOrEqual(least);
  }, 60_000);
});
