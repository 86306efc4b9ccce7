// decide(): the reference kernel follows the target Xen (referenceFor); the rest of decide() is covered through the
// plan and CLI tests over every fixture.
import { describe, expect, it } from 'vitest';
import { referenceFor } from '../../src/plan/decide.ts';
import { referenceKernels } from '../../src/modalias/kernel-data.ts';

describe('referenceFor: the Dom0 kernel Debian pairs with the target Xen', () => {
  const shipped = [
    { release: '6.1.0-56-amd64', xen: '4.17' },
    { release: '6.12.117+deb13-amd64', xen: '4.20' },
  ];
  it.each([
    ['4.17', '6.1.0-56-amd64'], // Debian 12
    ['4.17.7', '6.1.0-56-amd64'],
    ['4.19', '6.1.0-56-amd64'], // newer than 12's, older than 13's: 12's kernel is the newest that ran beside it
    ['4.20', '6.12.117+deb13-amd64'], // Debian 13
    ['4.20.4', '6.12.117+deb13-amd64'],
    ['4.21', '6.12.117+deb13-amd64'],
    ['3.0.3', '6.1.0-56-amd64'], // a XenLinux Dom0 matches neither: the oldest, and the plan says so
    ['4.2', '6.1.0-56-amd64'],
  ])('Xen %s: %s', (xen, release) => {
    expect(referenceFor(xen, shipped)).toBe(release);
  });

  it('a release without a Xen in its SOURCE is never chosen by version; none known: null (the loader takes the newest)', () => {
    expect(referenceFor('4.20', [{ release: 'x', xen: null }, ...shipped.slice(0, 1)])).toBe('6.1.0-56-amd64');
    expect(referenceFor('4.20', [{ release: 'x', xen: null }])).toBeNull();
  });

  it('the shipped data/kernel agrees', async () => {
    expect(await referenceKernels()).toEqual(shipped);
  });
});
