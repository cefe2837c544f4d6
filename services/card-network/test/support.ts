// The card network as the tests build it: its app with a test admin token, no latency, silent.
import { createServiceKit, loadConfig } from '@shoplab/chassis';
import { buildApp, type CardNetworkApp } from '../src/app';
import { configSchema } from '../src/config';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export function testNetwork(): Promise<CardNetworkApp> {
  const config = loadConfig(configSchema, {
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HTTP_PORT: '0',
    OTEL_SDK_DISABLED: 'true',
    CARD_NETWORK_LATENCY_MS: '0',
  });
  return buildApp({ kit: createServiceKit(config) });
}
