// Exercise 1: Payment is slow: the breaker opens and checkout fails fast (docs/exercises/01-payment-slow-breaker.md).
import { registerExercise } from './registry';
import { check } from './types';

export const exercise01 = registerExercise({
  number: 1,
  slug: 'payment-slow-breaker',
  title: 'Payment is slow: the breaker opens and checkout fails fast',
  pattern: 'circuit breaker',
  doc: 'docs/exercises/01-payment-slow-breaker.md',
  async run() {
    return [check('the check is written', false, 'not written yet')];
  },
});
