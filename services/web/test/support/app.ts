// The web service's app as its tests build it: the config read from the environment the test
// gives (over a silent, untraced default with a test admin token), then buildApp, ready.
import { createServiceKit, type HttpApp, loadConfig } from '@shoplab/chassis';
import { buildApp } from '../../src/app';
import { configSchema } from '../../src/config';

export const TEST_ADMIN_TOKEN = 'web-unit-test-admin-token';

export async function appWith(env: Record<string, string>): Promise<HttpApp> {
  const saved = { ...process.env };
  Object.assign(process.env, { ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'silent', OTEL_SDK_DISABLED: 'true', ...env });
  try {
    const { http } = await buildApp({ kit: createServiceKit(loadConfig(configSchema)) });
    await http.ready();
    return http;
  } finally {
    process.env = saved;
  }
}
