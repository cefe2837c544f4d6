// The exercises known to `shopctl exercise`. Each exercise file registers itself when
// imported; index.ts imports them, one line each.
import type { Exercise } from './types';

const exercises = new Map<number, Exercise>();

/** Adds an exercise; a number or slug used twice is a programming error. */
export function registerExercise(exercise: Exercise): Exercise {
  if (!Number.isInteger(exercise.number) || exercise.number < 1) {
    throw new Error(`exercise ${exercise.slug}: number must be a positive integer`);
  }
  const taken = exercises.get(exercise.number);
  if (taken) throw new Error(`exercise ${exercise.number} is both ${taken.slug} and ${exercise.slug}`);
  for (const other of exercises.values()) {
    if (other.slug === exercise.slug) throw new Error(`exercise slug ${exercise.slug} is used twice`);
  }
  exercises.set(exercise.number, exercise);
  return exercise;
}

/** Every registered exercise, by number. */
export function listExercises(): Exercise[] {
  return [...exercises.values()].sort((a, b) => a.number - b.number);
}

/** The exercise numbered `n` (or with slug `n`), if registered. */
export function findExercise(n: string | number): Exercise | undefined {
  const number = typeof n === 'number' ? n : /^\d+$/.test(n) ? Number(n) : Number.NaN;
  if (!Number.isNaN(number)) return exercises.get(number);
  return listExercises().find((e) => e.slug === n);
}
