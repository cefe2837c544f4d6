// Exercise 2: Payment is down: the saga compensates, no money is lost (docs/exercises/02-payment-down-compensation.md).
import { registerExercise } from './registry';
import { check } from './types';

export const exercise02 = registerExercise({
  number: 2,
  slug: 'payment-down-compensation',
  title: 'Payment is down: the saga compensates, no money is lost',
  pattern: 'saga compensation',
  doc: 'docs/exercises/02-payment-down-compensation.md',
  async run() {
    return [check('the check is written', false, 'not written yet')];
  },
});
