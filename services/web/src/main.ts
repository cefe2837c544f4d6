import { createServiceKit, loadConfig, startService } from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const { http } = await buildApp({ kit });
  await startService(kit, { http });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
