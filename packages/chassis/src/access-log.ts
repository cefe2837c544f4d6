// Who writes a service's access log (docs/patterns/sidecar.md): the chassis in-process — a line
// per HTTP request (fastify's own), and with `all` a line per gRPC call too — or nobody, because a
// sidecar in front of the service (the catalog's nginx) writes it. Set at start by ACCESS_LOG and
// at runtime with PUT /admin/access-log, the before/after switch of exercise 19.

export const ACCESS_LOG_MODES = ['http', 'all', 'off'] as const;
export type AccessLogMode = (typeof ACCESS_LOG_MODES)[number];

/** The process' access-log mode, read by the HTTP app and the gRPC server on every request. */
export class AccessLogSwitch {
  constructor(public mode: AccessLogMode = 'http') {}

  /** A line per HTTP request. */
  get http(): boolean {
    return this.mode !== 'off';
  }

  /** A line (info) per gRPC call. */
  get grpc(): boolean {
    return this.mode === 'all';
  }
}
