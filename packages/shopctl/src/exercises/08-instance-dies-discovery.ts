// Exercise 8: An instance dies: discovery stops sending it traffic (docs/exercises/08-instance-dies-discovery.md).
import { registerExercise } from './registry';
import { check } from './types';

export const exercise08 = registerExercise({
  number: 8,
  slug: 'instance-dies-discovery',
  title: 'An instance dies: discovery stops sending it traffic',
  pattern: 'service discovery with health checks',
  doc: 'docs/exercises/08-instance-dies-discovery.md',
  async run() {
    return [check('the check is written', false, 'not written yet')];
  },
});
