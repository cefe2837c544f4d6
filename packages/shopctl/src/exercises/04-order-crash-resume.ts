// Exercise 4: The order service crashes: its sagas resume (docs/exercises/04-order-crash-resume.md).
import { registerExercise } from './registry';
import { check } from './types';

export const exercise04 = registerExercise({
  number: 4,
  slug: 'order-crash-resume',
  title: 'The order service crashes: its sagas resume',
  pattern: 'persisted saga, resumable orchestrator',
  doc: 'docs/exercises/04-order-crash-resume.md',
  async run() {
    return [check('the check is written', false, 'not written yet')];
  },
});
