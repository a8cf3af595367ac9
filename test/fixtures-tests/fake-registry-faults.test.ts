import https from 'node:https';
import test from 'ava';
import { startFakeRegistry } from '../fixtures/fake-registry.js';

function request(url: string, method: string, ca: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a fault limited to GET leaves HEAD of the same path alone', async (t) => {
  const registry = await startFakeRegistry([{ namespace: 'acme', type: 'thing', versions: { '1.0.0': ['linux_amd64'] } }]);
  t.teardown(() => registry.close());
  registry.fault({ fault: { kind: 'slow', ms: 400 }, path: /\.zip$/, method: 'GET' });
  const zip = `${registry.url}files/acme/thing/1.0.0/terraform-provider-thing_1.0.0_linux_amd64.zip`;
  const head = await request(zip, 'HEAD', registry.caPem);
  const get = await request(zip, 'GET', registry.caPem);
  t.is(head.status, 200);
  t.is(get.status, 200);
  t.true(head.ms < 300, `HEAD took ${head.ms} ms`);
  t.true(get.ms >= 400, `GET took ${get.ms} ms`);
});
