// The card network process: config → kit → buildApp → startService (no database, no Kafka, no
// gRPC: someone else's system that payment reaches over plain HTTP/JSON, ADR 36).
import { createServiceKit, loadConfig, startService } from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const app = await buildApp({ kit });
  await startService(kit, { http: app.http });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
