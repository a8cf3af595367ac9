import test from 'ava';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { clientFor } from './helpers.js';

let registry: FakeRegistry;
test.before(async () => {
  registry = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] }, protocols: ['5.0'] }]);
});
test.after.always(() => registry.close());

test('a caller whose signal is already aborted starts no discovery and leaves no rejection behind', async (t) => {
  registry.fault({ path: '/.well-known/', fault: { kind: 'status', status: 404 } });
  const unhandled: unknown[] = [];
  const onRejection = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onRejection);
  t.teardown(() => process.off('unhandledRejection', onRejection));

  const client = clientFor(registry);
  await t.throwsAsync(client.providersBaseUrl(AbortSignal.abort()), { name: 'AbortError' });
  // Let a discovery, had one started, fail and go unobserved.
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(unhandled, [], 'no promise was left rejected without a handler');
  // The next caller still gets the upstream's answer.
  await t.throwsAsync(client.providersBaseUrl(), { message: /offers no services/ });
});
