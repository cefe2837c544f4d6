// Exercise 3: Catalog crashes mid-checkout: the saga retries and recovers (docs/exercises/03-catalog-crash-recovery.md).
import { registerExercise } from './registry';
import { check } from './types';

export const exercise03 = registerExercise({
  number: 3,
  slug: 'catalog-crash-recovery',
  title: 'Catalog crashes mid-checkout: the saga retries and recovers',
  pattern: 'retries to a deadline',
  doc: 'docs/exercises/03-catalog-crash-recovery.md',
  async run() {
    return [check('the check is written', false, 'not written yet')];
  },
});
