// Generated gRPC contracts, one namespace per proto package (see proto/ and `make proto`).
export * as catalogV1 from './gen/catalog/v1/catalog';
export * as commonV1 from './gen/common/v1/money';
export * as healthV1 from './gen/grpc/health/v1/health';
