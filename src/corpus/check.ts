// `corpus check`: each machine with an expect.yaml planned at the targets it names, every expectation compared.
// A machine without one is listed (unchecked), not failed: the corpus is larger than what has been checked by hand.
import { checkRow, readExpect, type Mismatch } from './expect.ts';
import { findMachines, isUnreadable, loadMachine, type Unreadable } from './machines.ts';
import { checkTargets, planMachine, probeMachine, type CorpusOptions } from './run.ts';

export interface CheckResult {
  /** Machines checked, with the targets and number of expectations of each. */
  checked: { machine: string; file: string; targets: string[]; expectations: number }[];
  /** Machines without expect.yaml. */
  unchecked: string[];
  mismatches: Mismatch[];
  /** Machines with expectations that could not be read or planned at all: every expectation fails. */
  unreadable: Unreadable[];
}

export async function checkCorpus(dirs: readonly string[], options: Pick<CorpusOptions, 'kernelDir' | 'rules' | 'onMachine'> = {}): Promise<CheckResult> {
  const refs = await findMachines(dirs);
  const result: CheckResult = { checked: [], unchecked: [], mismatches: [], unreadable: [] };
  let done = 0;
  for (const ref of refs) {
    // Read (and so validated) before anything is planned: a bad file is an error naming its line.
    const expect = await readExpect(ref);
    if (expect === null) {
      result.unchecked.push(ref.id);
      options.onMachine?.(++done, refs.length);
      continue;
    }
    const targets = checkTargets([...expect.targets.keys()]);
    const count = [...expect.targets.values()].reduce((n, list) => n + list.length, 0);
    result.checked.push({ machine: ref.id, file: expect.file, targets, expectations: count });
    const loaded = await loadMachine(ref);
    const profile = isUnreadable(loaded) ? loaded : await probeMachine(loaded);
    if (isUnreadable(loaded) || 'reason' in profile) {
      const u = isUnreadable(loaded) ? loaded : (profile as Unreadable);
      result.unreadable.push(u);
      for (const t of targets) {
        result.mismatches.push({ machine: ref.id, target: t, key: '(machine)', expected: 'a machine to plan', got: u.reason, where: expect.file });
      }
    } else {
      const rows = await planMachine(loaded, profile as Exclude<typeof profile, Unreadable>, targets, options);
      for (const row of rows) result.mismatches.push(...checkRow(row, expect.targets.get(row.target) ?? [], expect.file));
    }
    options.onMachine?.(++done, refs.length);
  }
  return result;
}
