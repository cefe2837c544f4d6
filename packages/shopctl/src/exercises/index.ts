// The exercises (docs/exercises/): each file registers itself, so adding one is one import line.
import './01-payment-slow-breaker';
import './02-payment-down-compensation';
import './03-catalog-crash-recovery';
import './04-order-crash-resume';
import './05-kafka-down-outbox';
import './06-duplicate-delivery';
import './07-poison-message-dlq';
import './08-instance-dies-discovery';
import './09-cqrs-lag-rebuild';
import './10-clock-skew';
import './11-postgres-crash-wal';
import './12-outbox-wal-relay';
import './13-partition-cap-pacelc';
import './14-bulkhead-read-flood';
import './15-event-sourced-payment';
import './16-shipping-strangler';
import './17-choreographed-checkout';
import './18-two-phase-coordinator-crash';
import './19-catalog-tls-sidecar';
import './20-card-network-ambassador';

export { EXERCISE_USAGE, exerciseCommand, formatSummary, type RunDeps } from './command';
export { findExercise, listExercises, registerExercise } from './registry';
export {
  abortableSleep,
  auditWhenSettled,
  type CheckoutSwitch,
  checkoutSwitch,
  type ExerciseResult,
  formatCheck,
  type RunOptions,
  runExercise,
} from './runner';
export * from './types';
