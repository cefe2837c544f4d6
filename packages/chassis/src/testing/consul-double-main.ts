// The Consul DOUBLE as a process of its own — a test double of Consul's HTTP API, not Consul
// (ADR 9: Consul cannot run on these machines). Exercise 8 (docs/exercises/08-instance-dies-discovery.md)
// runs it next to a few service instances in REGISTRY_MODE=consul:
//   node packages/chassis/dist/src/testing/consul-double-main.js [--port 18500] [--host 127.0.0.1]
// It logs check changes (JSON lines) and stops on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { createLogger } from '../logging';
import { ConsulDouble } from './consul-double';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '18500' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port`);
  const logger = createLogger({ service: 'consul-double', level: 'debug' });
  const double = new ConsulDouble({ host: values.host, port, logger, node: 'consul-double' });
  const url = await double.start();
  logger.info({ url }, 'the Consul double (a test double of the Consul HTTP API, not Consul) is listening');
  const stop = (signal: string) => {
    logger.info({ signal }, 'consul double stopping');
    void double.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
