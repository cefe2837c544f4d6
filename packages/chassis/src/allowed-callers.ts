// Who may call whose gRPC methods: the `grpc` rows of k8s/allowed-callers.yaml, the one table the
// NetworkPolicies implement too. The chassis' gRPC server refuses (PERMISSION_DENIED) a verified
// caller that is not in its service's row (service-auth.ts). scripts/deploy-check.sh fails when
// this copy and the table differ (test/deploy/src/network-policies.ts), so a new service or a new
// caller is a row there and the same row here.

/** target service → the services that may call its gRPC methods. */
export const GRPC_CALLERS: Readonly<Record<string, readonly string[]>> = {
  user: ['gateway', 'order'],
  catalog: ['gateway', 'order', 'cart'],
  cart: ['gateway', 'order'],
  payment: ['gateway', 'order'],
  // catalog and payment: the two-phase checkout's participants ask for decisions (GetTwoPhaseDecision).
  order: ['gateway', 'catalog', 'payment'],
  shipping: ['gateway'],
};
