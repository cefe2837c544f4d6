import { type AuditReport, CollectError, collectAuditData, runAudit } from '@shoplab/audit';
import {
  adminBaseUrlOf,
  type BreakerRegistry,
  errorText,
  type FaultInjector,
  type FaultRuleInput,
  type Instance,
  ShopError,
} from '@shoplab/chassis';
import { DOWNSTREAMS, type Downstream } from '../config';
import { baseUrlOf, type Downstreams } from './ports';

export interface InstanceStatus {
  id: string;
  address: string;
  port: number;
  ready: boolean;
  /** The instance's `/readyz` body, when it answered one. */
  readiness: unknown;
  error?: string;
}

export interface ServiceStatus {
  service: Downstream;
  instances: InstanceStatus[];
  /** Set when the registry could not list the service. */
  error?: string;
}

export interface ChaosResult {
  instance: string;
  status?: number;
  body?: unknown;
  error?: string;
}

const ADMIN_CALL_TIMEOUT_MS = 2_000;

/**
 * The operator's view through the gateway: every downstream instance and its readiness, and
 * fault injection forwarded to each instance's own `/admin/chaos` (every service shares the
 * deployment's ADMIN_TOKEN). Calls here bypass the breakers: an operator wants to see the
 * real state, not the gateway's opinion of it.
 */
export class AdminOperations {
  constructor(
    private readonly registry: Downstreams['httpRegistry'],
    private readonly adminToken: string,
    private readonly chaos: FaultInjector,
    private readonly breakers: BreakerRegistry,
    /** Where the admin listeners are (`/admin/chaos`, the audit's reads); the HTTP registry by default. */
    private readonly adminRegistry: Downstreams['adminRegistry'] = registry,
  ) {}

  async services(): Promise<ServiceStatus[]> {
    return Promise.all(
      DOWNSTREAMS.map(async (service): Promise<ServiceStatus> => {
        let instances: Instance[];
        try {
          instances = await this.registry.instances(service);
        } catch (err) {
          return { service, instances: [], error: errorText(err, { cause: true }) };
        }
        return { service, instances: await Promise.all(instances.map((i) => this.readiness(i))) };
      }),
    );
  }

  breakerList() {
    return { enabled: this.breakers.isEnabled, items: this.breakers.list() };
  }

  setBreakersEnabled(enabled: boolean) {
    this.breakers.setEnabled(enabled);
    return this.breakerList();
  }

  async addFault(service: Downstream | 'gateway', rule: FaultRuleInput): Promise<ChaosResult[]> {
    if (service === 'gateway')
      return [{ instance: 'gateway (this instance)', status: 201, body: this.chaos.add(rule) }];
    return this.forward(service, 'PUT', rule);
  }

  async clearFaults(service: Downstream | 'gateway'): Promise<ChaosResult[]> {
    if (service === 'gateway') {
      return [{ instance: 'gateway (this instance)', status: 200, body: { cleared: this.chaos.clear() } }];
    }
    return this.forward(service, 'DELETE');
  }

  /** Sends the change to every instance (faults live in each process); fails only when none took it. */
  private async forward(service: Downstream, method: 'PUT' | 'DELETE', rule?: FaultRuleInput): Promise<ChaosResult[]> {
    const instances = await this.adminRegistry.instances(service);
    if (instances.length === 0) {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `no instance of ${service} is known`, { service });
    }
    const results = await Promise.all(
      instances.map(async (instance): Promise<ChaosResult> => {
        try {
          const res = await fetch(`${adminBaseUrlOf(instance)}/admin/chaos`, {
            method,
            headers: {
              authorization: `Bearer ${this.adminToken}`,
              ...(rule ? { 'content-type': 'application/json' } : {}),
            },
            ...(rule ? { body: JSON.stringify(rule) } : {}),
            signal: AbortSignal.timeout(ADMIN_CALL_TIMEOUT_MS),
          });
          const text = await res.text();
          return { instance: instance.id, status: res.status, body: text ? JSON.parse(text) : undefined };
        } catch (err) {
          return { instance: instance.id, error: errorText(err, { cause: true }) };
        }
      }),
    );
    if (!results.some((r) => r.status !== undefined && r.status < 300)) {
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `no instance of ${service} accepted the change`, {
        service,
        results,
      });
    }
    return results;
  }

  /**
   * The audit of docs/reference.md#audit (`shopctl audit`'s checks), reading each service's admin
   * endpoints on one of its registered HTTP instances.
   */
  async audit(): Promise<AuditReport> {
    try {
      const data = await collectAuditData({
        adminToken: this.adminToken,
        baseUrl: async (service) => {
          const [instance] = await this.adminRegistry.instances(service);
          if (!instance) throw new CollectError(`no instance of ${service} is known`);
          return adminBaseUrlOf(instance);
        },
      });
      return runAudit(data);
    } catch (err) {
      if (!(err instanceof CollectError)) throw err;
      throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', `the audit could not collect its data: ${err.message}`);
    }
  }

  private async readiness(instance: Instance): Promise<InstanceStatus> {
    const base = { id: instance.id, address: instance.address, port: instance.port };
    try {
      const res = await fetch(`${baseUrlOf(instance)}/readyz`, { signal: AbortSignal.timeout(ADMIN_CALL_TIMEOUT_MS) });
      const text = await res.text();
      let readiness: unknown = text;
      try {
        readiness = JSON.parse(text);
      } catch {}
      return { ...base, ready: res.status === 200, readiness };
    } catch (err) {
      return { ...base, ready: false, readiness: null, error: errorText(err, { cause: true }) };
    }
  }
}
