export * from '@shoplab/audit';
export * from './api';
export { type ControlAction, localStackRunning, repoRoot, runControl } from './control';
export { type DlqTopicListing, discardDlq, listDlq, type RedriveResult, redriveDlq, sendRaw } from './dlq';
export {
  auditWhenSettled,
  type Check,
  type Exercise,
  type ExerciseResult,
  findExercise,
  listExercises,
  runExercise,
} from './exercises';
export { shopTarget } from './exercises/command';
export { ROUTED_OPERATIONS, type RoutedOperation, ShippingApi, type StranglerStatus } from './shipping';
