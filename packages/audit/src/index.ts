// @shoplab/audit: the invariants nothing in the shop may break (docs/reference.md#audit) and
// the collection of what they judge through the services' own admin APIs.
//
//   audit.ts       the invariants as pure functions: `runAudit(data)` → an AuditReport (PASS,
//                  FAIL or SKIP per invariant, with counts and the offending ids), `formatReport`
//                  its text; the zod schemas of the admin endpoints' answers
//   collect.ts     `collectAuditData({ baseUrl, adminToken })` reads those endpoints (a
//                  CollectError when a required one does not answer as expected)
//   error-text.ts  `messageOf`: an error as one line of text
//
// Two callers, one audit: `shopctl audit` (packages/shopctl, the services' local ports) and the
// gateway's `GET /api/v1/admin/audit` (services/gateway, its registry's addresses). Where the
// services are is the caller's business (`baseUrl`); so is waiting for a shop to settle
// (`shopctl audit --wait`). Nothing here talks to Kafka: the consumers' side comes from each
// service's `/admin/consumers`. Its only dependency is zod, so a service can use it without
// the command line's.
//
// Tests: `bash scripts/test.sh packages/audit` (unit tests over crafted data; need nothing running).
export * from './audit';
export * from './collect';
export * from './error-text';
