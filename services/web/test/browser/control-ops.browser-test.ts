// The control room's operations in a real browser, on a phone-sized screen: the service map
// with the gateway, the order history and shipping too; a before/after switch flipped and read back from
// the gateway; dead letters of this test's own topic (one poison, one failed) listed, redriven
// and discarded after a confirmation; payment killed and started again from its card; and an
// exercise (6, duplicate delivery: harmless, ~10 s) run with its checks and the audit arriving on
// the page; then run again, held by a slow payment, a second run refused with 409 meanwhile, and
// interrupted.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { sendRaw } from '@shoplab/shopctl';
import { Kafka, logLevel } from 'kafkajs';
import { ADMIN_TOKEN, type Browser, GATEWAY_ADMIN_URL, openBrowser, send, WEB_URL } from './support';

const SOURCE = `webtest-${randomUUID().slice(0, 8)}.events`;
const DLQ = `${SOURCE}.dlq`;
const kafka = new Kafka({ clientId: 'web-browser-test', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });

let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  // An exercise this test left running (a failed assertion) is interrupted: its cleanups run.
  await send(`${WEB_URL}/control/exercises/running/stop`, 'POST', undefined, ADMIN_TOKEN).catch(() => {});
  await send(`${GATEWAY_ADMIN_URL}/api/v1/admin/order-events`, 'PUT', { mode: 'streaming' }, ADMIN_TOKEN).catch(
    () => {},
  );
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [SOURCE, DLQ] }).catch(() => {});
  await admin.disconnect();
});

/** A dead-lettered message of this test's topic, with the headers the chassis' consumers write. */
function deadLetter(reason: 'poison' | 'failed', attempts: number) {
  return {
    key: randomUUID(),
    value: JSON.stringify({ test: reason }),
    headers: {
      'x-error': `web test: ${reason}`,
      'x-error-attempts': String(attempts),
      'x-original-topic': SOURCE,
      'x-original-partition': '0',
      'x-original-offset': String(attempts),
      'x-consumer-group': 'web-browser-test',
      'x-dead-letter-reason': reason,
    },
  };
}

async function messagesIn(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

test('the control room’s operations on a phone-sized screen', async (t) => {
  await sendRaw({ topic: DLQ, messages: [deadLetter('poison', 0), deadLetter('failed', 5)] });
  browser = await openBrowser({ width: 390, height: 844 });
  const { page } = browser;
  let answer = true;
  page.on('dialog', (dialog) => void (answer ? dialog.accept() : dialog.dismiss()));

  await t.test('the admin token is typed in; the map has the gateway, the history and shipping too', async () => {
    await page.goto(`${WEB_URL}/control`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    for (const service of ['gateway', 'history', 'user', 'catalog', 'cart', 'payment', 'order']) {
      await page.getByTestId(`health-${service}`).getByText('ready', { exact: true }).waitFor();
    }
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `the page fits a phone's width (${width} px)`);
  });

  await t.test(
    'a switch flipped with its button: the gateway follows orders by polling, then streams again',
    async () => {
      const events = page.locator('[data-switch="order-events"]');
      await events.and(page.locator('[data-value="streaming"]')).waitFor();
      await events.getByRole('button', { name: 'polling' }).click();
      await events.and(page.locator('[data-value="polling"]')).waitFor();
      assert.equal(
        (await send(`${GATEWAY_ADMIN_URL}/api/v1/admin/order-events`, 'GET', undefined, ADMIN_TOKEN)).mode,
        'polling',
      );
      assert.equal(await events.getByRole('button', { name: 'polling' }).getAttribute('aria-pressed'), 'true');
      await events.getByRole('button', { name: 'streaming' }).click();
      await events.and(page.locator('[data-value="streaming"]')).waitFor();
      assert.equal(
        (await send(`${GATEWAY_ADMIN_URL}/api/v1/admin/order-events`, 'GET', undefined, ADMIN_TOKEN)).mode,
        'streaming',
      );
    },
  );

  await t.test('dead letters: listed as poison and failed, redriven and discarded after a confirmation', async () => {
    const row = page.locator(`tr[data-dlq="${DLQ}"]`);
    await page.getByRole('button', { name: 'Refresh the dead-letter queues' }).click();
    await row.waitFor();
    assert.equal(await row.getByTestId('dlq-poison').textContent(), '1');
    assert.equal(await row.getByTestId('dlq-failed').textContent(), '1');
    await row.getByText('web test: poison').waitFor();

    // Redrive: the failed message goes back to its topic; the poison one is passed over.
    await row.getByRole('button', { name: `Redrive ${DLQ}` }).click();
    await page.getByText(`${DLQ}: redrove 1, passed over 1 poison`).waitFor();
    assert.equal(await messagesIn(SOURCE), 1, 'one message copied back to the source topic');
    await row.waitFor({ state: 'detached' });

    // Another failed message: discarding asks first; dismissed, nothing happens.
    await sendRaw({ topic: DLQ, messages: [deadLetter('failed', 5)] });
    await page.getByRole('button', { name: 'Refresh the dead-letter queues' }).click();
    await row.getByTestId('dlq-failed').getByText('1').waitFor();
    answer = false;
    await row.getByRole('button', { name: `Discard ${DLQ}` }).click();
    answer = true;
    assert.equal(await row.getByTestId('dlq-pending').textContent(), '1', 'a dismissed confirmation discards nothing');
    await row.getByRole('button', { name: `Discard ${DLQ}` }).click();
    await page.getByText(`${DLQ}: discarded 1`).waitFor();
    await row.waitFor({ state: 'detached' });
    assert.equal(await messagesIn(SOURCE), 1, 'a discarded message is not copied back');
  });

  await t.test('payment killed from its card (not ready), then started again (ready)', async () => {
    const card = page.locator('[data-service="payment"]');
    await card.getByRole('button', { name: 'Kill payment' }).click();
    await card.getByTestId('control-payment').getByText('killed payment').waitFor({ timeout: 60_000 });
    await page.getByTestId('health-payment').getByText('NOT READY').waitFor();
    await card.getByRole('button', { name: 'Start payment' }).click();
    await card.getByTestId('control-payment').getByText('started payment').waitFor({ timeout: 120_000 });
    await page.getByTestId('health-payment').getByText('ready', { exact: true }).waitFor();
  });

  await t.test(
    'exercise 6 runs from the page: its checks, then the audit, each with its verdict and evidence',
    async () => {
      await page.getByLabel('Exercise', { exact: true }).selectOption('6');
      const article = page.getByRole('article', { name: "The exercise's page" });
      await article
        .getByRole('heading', { level: 1 })
        .getByText(/Exercise 6/)
        .waitFor();
      await page.getByRole('button', { name: 'Run the exercise' }).click();
      await page.getByTestId('exercise-output').getByText('Exercise 6').waitFor();
      await page
        .getByTestId('exercise-verdict')
        .getByText(/^(PASS|FAIL) /)
        .waitFor({ timeout: 240_000 });
      const checks = page.getByRole('list', { name: 'Checks' });
      const shown = await checks.locator(':scope > li').evaluateAll((lis) =>
        lis.map((li) => ({
          verdict: li.getAttribute('data-verdict') ?? '',
          name: li.querySelector('.check-name')?.textContent ?? '',
          evidence: li.querySelectorAll('ul li').length,
        })),
      );
      // Its verdicts are the exercise's business (exercise 6 is checked by the exercise runner);
      // here: each check is shown with its verdict and evidence, as the runner printed it, the
      // exercise's own first and the audit over the whole shop last.
      assert.deepEqual(
        shown.map((c) => c.name),
        [
          'the relay published the replayed rows again, through Kafka, to every consumer',
          'every consumer group recognised each event id and skipped it',
          'nothing happened twice: stock counters, carts and notifications are unchanged',
          'the audit: every invariant holds afterwards',
        ],
      );
      const printed = (await page.getByTestId('exercise-output').textContent()) ?? '';
      for (const c of shown) {
        assert.match(c.verdict, /^(PASS|FAIL)$/);
        assert.ok(c.evidence > 0, `${c.name}: its evidence`);
      }
      for (const c of shown.slice(0, -1)) {
        assert.ok(printed.includes(`${c.verdict.padEnd(4)}  ${c.name}`), `${c.name}: as the runner printed it`);
      }
      // The audit's check sums up the invariants the runner printed one by one.
      assert.ok(
        printed.includes('audit (the invariants of docs/architecture.md):'),
        'the audit as the runner printed it',
      );
    },
  );

  await t.test('while exercise 6 runs, a second run is refused (409); interrupted, the run ends at once', async () => {
    // Held: payment authorizes 1.5 s late (under order's 5 s deadline for the call: no retry, no
    // breaker), so the exercise's checkouts keep its run going well past the moment it is
    // interrupted — a run left alone ends within seconds.
    await send(
      `${GATEWAY_ADMIN_URL}/api/v1/admin/chaos/payment`,
      'PUT',
      {
        kind: 'grpc',
        target: 'payment.v1.PaymentService/Authorize',
        fault: { type: 'latency', ms: 1500 },
        durationSeconds: 120,
      },
      ADMIN_TOKEN,
    );
    try {
      await page.getByRole('button', { name: 'Run the exercise' }).click();
      await page.getByTestId('exercise-output').getByText('Exercise 6').waitFor();

      const second = await fetch(`${WEB_URL}/control/exercises/1/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(second.status, 409);
      const problem = (await second.json()) as { code: string; running: { number: number } };
      assert.equal(problem.code, 'SHOP_CONFLICT');
      assert.equal(problem.running.number, 6);

      // As Ctrl-C would: its cleanups run, and the run ends without its checks or the audit.
      await page.getByRole('button', { name: 'Interrupt it' }).click();
      await page
        .getByTestId('exercise-verdict')
        .getByText(/^INTERRUPTED/)
        .waitFor({ timeout: 60_000 });
      const list = await send(`${WEB_URL}/control/exercises`, 'GET', undefined, ADMIN_TOKEN);
      assert.equal(list.running, null, 'another exercise may run now');
    } finally {
      await send(`${GATEWAY_ADMIN_URL}/api/v1/admin/chaos/payment`, 'DELETE', undefined, ADMIN_TOKEN).catch(() => {});
    }
  });
});
