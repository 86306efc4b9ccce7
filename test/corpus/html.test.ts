// --html: one static page, checked in a real headless browser (Debian's chromium): it renders (a screenshot whose
// pixels carry the verdict colours), the rows are there (the DOM the browser built), a changed machine is marked
// (its row's class, and the red mark's pixels). The page loads nothing: no src= or href= outside the page.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { diffCorpus, type CorpusDiff } from '../../src/corpus/diff.ts';
import { diffHtml, runHtml } from '../../src/corpus/html.ts';
import { ruleSetFrom, shippedRuleSet } from '../../src/corpus/rule-sets.ts';
import { runCorpus, type CorpusResult } from '../../src/corpus/run.ts';
import { fixturesDir } from '../_support/memfs.ts';
import { copyRules, tmp } from './_support.ts';

const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) ?? null;
const why = chromium ? '' : ' (skipped: chromium is not installed; apt-get install -y --no-install-recommends chromium, as scripts/test.sh does)';

function browser(args: string[]): string {
  // --no-sandbox: tests run as root, where chromium's sandbox refuses to start.
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...args], { encoding: 'latin1', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`chromium ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The distinct RGB colours of a PNG (8-bit RGB or RGBA, not interlaced: what chromium writes). */
function colours(png: Buffer): Set<string> {
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  let at = 8;
  let width = 0, height = 0, type = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const kind = png.subarray(at + 4, at + 8).toString();
    const data = png.subarray(at + 8, at + 8 + length);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      type = data[9]!;
      expect(data[12]).toBe(0);
    } else if (kind === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const bpp = type === 6 ? 4 : 3;
  expect([2, 6]).toContain(type);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = new Set<string>();
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? line[x - bpp]! : 0;
      const b = prev[x]!;
      const c = x >= bpp ? prev[x - bpp]! : 0;
      const p = a + b - c;
      const pr = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      line[x] = (line[x]! + [0, a, b, (a + b) >> 1, pr][filter]!) & 0xff;
    }
    for (let x = 0; x < stride; x += bpp) out.add(`${line[x]},${line[x + 1]},${line[x + 2]}`);
    prev = line;
  }
  return out;
}

const MACHINES = ['thinkpad-t60', 'amd-apu-laptop', 'kvm-guest'].map((n) => join(fixturesDir, n));

describe('--html pages', () => {
  let run: CorpusResult;
  let diff: CorpusDiff;
  const dir = tmp('corpus-html');
  beforeAll(async () => {
    run = await runCorpus(MACHINES, { targets: ['3.0.3', '4.20'] });
    // A real rule changed: dom0-mem-large (8-32 GiB at Xen 4.x) sizes the amd-apu-laptop's Dom0 (16 GiB).
    const rules = copyRules();
    const file = join(rules, '40-memory.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('dom0Memory: "2048M,max:2048M"', 'dom0Memory: "3072M,max:3072M"'));
    diff = await diffCorpus(MACHINES, await shippedRuleSet(), await ruleSetFrom([rules], 'changed'), { targets: ['3.0.3', '4.20'] });
    writeFileSync(join(dir, 'run.html'), runHtml(run.rows, run.summary));
    writeFileSync(join(dir, 'diff.html'), diffHtml(diff));
  }, 600_000);

  it('load nothing from elsewhere: no src=, no href= but the page\'s own anchors, no script', () => {
    for (const page of ['run.html', 'diff.html']) {
      const html = readFileSync(join(dir, page), 'utf8');
      expect(html).not.toMatch(/\ssrc=|<script|<link|@import|url\(/i);
      for (const href of html.matchAll(/href="([^"]*)"/g)) expect(href[1]).toMatch(/^#/);
    }
  });

  it('text from the machines is escaped: a log folder named with markup (a copy of the T60\'s real logs)', async () => {
    const corpus = tmp('corpus-markup');
    const name = 't60 <img src=x onerror=alert(1)> & "q"';
    cpSync(join(fixturesDir, 'thinkpad-t60', 'sources'), join(corpus, name), { recursive: true });
    const r = await runCorpus([corpus], { targets: ['4.20'] });
    const html = runHtml(r.rows, r.summary);
    expect(html).not.toContain('<img');
    expect(html).toContain('data-machine="t60 &#60;img src=x onerror=alert(1)&#62; &#38; &#34;q&#34;"');
  });

  it('the diff marks amd-apu-laptop at 4.20 only (the machine the changed rule sizes)', () => {
    expect(diff.changes.map((c) => `${c.machine} ${c.target}`)).toEqual(['amd-apu-laptop 4.20']);
  });

  it.skipIf(!chromium)(`run.html in chromium: every row in the DOM, the verdict colours on screen${why}`, () => {
    const dom = browser(['--dump-dom', `file://${join(dir, 'run.html')}`]);
    const rows = [...dom.matchAll(/<tr class="row ?[^"]*" data-machine="([^"]+)" data-target="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(rows).toEqual(run.rows.map((r) => `${r.machine} ${r.target}`));
    browser([`--screenshot=${join(dir, 'run.png')}`, '--window-size=1400,1200', `file://${join(dir, 'run.html')}`]);
    const seen = colours(readFileSync(join(dir, 'run.png')));
    // td.good, td.bad, td.unknown (src/corpus/html.ts STYLE): the verdicts are coloured, not only written.
    for (const c of ['212,244,212', '248,208,208', '244,236,196']) expect(seen).toContain(c);
  });

  it.skipIf(!chromium)(`diff.html in chromium: the changed row marked, the diff shown${why}`, () => {
    const dom = browser(['--dump-dom', `file://${join(dir, 'diff.html')}`]);
    const changed = [...dom.matchAll(/<tr class="row changed ?" data-machine="([^"]+)" data-target="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(changed).toEqual(['amd-apu-laptop 4.20']);
    expect(dom.match(/<tr class="row/g)).toHaveLength(diff.rows.length);
    expect(dom).toContain('<span class="add">+GRUB_CMDLINE_XEN_DEFAULT=');
    expect(dom).toMatch(/<p id="headline">1 of 3 machines change/);
    browser([`--screenshot=${join(dir, 'diff.png')}`, '--window-size=1400,4000', `file://${join(dir, 'diff.html')}`]);
    // The changed row's red border and mark (#c00), and the diff's added and removed lines' backgrounds.
    const seen = colours(readFileSync(join(dir, 'diff.png')));
    for (const c of ['204,0,0', '230,255,230', '255,230,230']) expect(seen).toContain(c);
  });
});
