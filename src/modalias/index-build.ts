// A lookup structure with kmod's answers and a few microseconds per query. kmod's trie descends a pattern's
// literal head and runs fnmatch on the rest; here each pattern is filed under that literal head (everything
// before the first `*`, `?` or `[`), and a query probes each of its own prefixes of a length some head has.
// A backslash is literal in the head, as in kmod's trie: it only escapes inside the fnmatch part.
// Building allocates little (chains of integers, no object per pattern): it runs at every boot, cold.
import { fnmatchFrom, literalPrefixLength } from './glob.ts';

export interface AliasIndex {
  /** Matching modules in priority order, each once (kmod lists a module once per matching pattern). */
  lookup(normalizedQuery: string): string[];
  /** Number of patterns. */
  readonly size: number;
  /** Every (pattern, module) pair in the order added. */
  entries(): Array<{ pattern: string; module: string }>;
  /** Modules that have patterns, in order of their first pattern. */
  readonly modules: readonly string[];
}

/** Where parsers put (normalized pattern, module) pairs. */
export interface AliasSink {
  /** `head`: the literal prefix length if the caller already knows it. */
  add(pattern: string, module: string, head?: number): void;
}

export class AliasIndexBuilder implements AliasSink {
  private readonly patterns: string[] = [];
  private readonly owners: number[] = [];
  private readonly heads: number[] = [];
  private readonly modules: string[] = [];
  private readonly ids = new Map<string, number>();
  private lastModule = '';
  private lastId = -1;

  add(pattern: string, module: string, head = literalPrefixLength(pattern)): void {
    // Files list a module's patterns together: one map lookup per module, not per pattern.
    if (module !== this.lastModule || this.lastId < 0) {
      let id = this.ids.get(module);
      if (id === undefined) {
        id = this.modules.length;
        this.ids.set(module, id);
        this.modules.push(module);
      }
      this.lastModule = module;
      this.lastId = id;
    }
    this.patterns.push(pattern);
    this.owners.push(this.lastId);
    this.heads.push(head);
  }

  /** Modules in order of their first pattern. */
  moduleNames(): readonly string[] {
    return this.modules;
  }

  /**
   * `rank` orders the result, as depmod's per-module priority does in modules.alias.bin; equal ranks keep the
   * order in which modules were first added.
   */
  build(rank: (module: string) => number): AliasIndex {
    const { patterns, owners, modules, heads } = this;
    const ranks = modules.map(rank);
    const first = new Map<string, number>();
    const next = new Int32Array(patterns.length).fill(-1);
    const lengths = new Set<number>();
    for (let i = 0; i < patterns.length; i++) {
      const head = heads[i]!;
      const key = patterns[i]!.slice(0, head);
      const f = first.get(key);
      if (f === undefined) {
        first.set(key, i);
        lengths.add(head);
      } else {
        // Bucket order does not matter: hits are sorted by rank.
        next[i] = next[f]!;
        next[f] = i;
      }
    }
    const probeLengths = [...lengths].sort((a, b) => a - b);
    const byRank = (a: number, b: number) => ranks[a]! - ranks[b]! || a - b;

    return {
      size: patterns.length,
      modules,
      entries: () => patterns.map((pattern, i) => ({ pattern, module: modules[owners[i]!]! })),
      lookup(query: string): string[] {
        let hits: number[] | undefined;
        for (const len of probeLengths) {
          if (len > query.length) break;
          let i = first.get(len === query.length ? query : query.slice(0, len)) ?? -1;
          for (; i >= 0; i = next[i]!) {
            if (fnmatchFrom(patterns[i]!, heads[i]!, query, len)) (hits ??= []).push(owners[i]!);
          }
        }
        if (hits === undefined) return [];
        if (hits.length > 1) hits.sort(byRank);
        const out: string[] = [];
        let last = -1;
        for (const id of hits) if (id !== last) out.push(modules[(last = id)]!);
        return out;
      },
    };
  }
}

/** An index over (pattern, module) pairs already normalized; see AliasIndexBuilder.build for `rank`. */
export function buildAliasIndex(
  entries: Iterable<{ pattern: string; module: string }>,
  rank: (module: string) => number,
): AliasIndex {
  const builder = new AliasIndexBuilder();
  for (const { pattern, module } of entries) builder.add(pattern, module);
  return builder.build(rank);
}
