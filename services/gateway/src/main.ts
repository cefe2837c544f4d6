import { createServiceKit, loadConfig, startService } from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';
import { createDownstreams } from './infrastructure/downstreams';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const downstreams = createDownstreams(kit);
  const { http } = await buildApp({ kit, downstreams });
  await startService(kit, { http, pools: [{ name: 'downstream-clients', close: () => downstreams.close() }] });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
