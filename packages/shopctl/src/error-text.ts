// An error as one line of text, for every shopctl message: the audit's own `messageOf`
// (packages/audit/src/error-text.ts), which the audit's collection errors use too, so the
// command line and the audit word a failure alike.
export { messageOf } from '@shoplab/audit';
