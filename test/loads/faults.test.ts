import test from 'ava';
import type { FaultRule, FakeRegistryProvider } from '../fixtures/fake-registry.js';
import { loadSetup } from '../fixtures/load-setup.js';
import { runCli } from '../fixtures/tfmirror.js';

const upstream: FakeRegistryProvider[] = [{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }];
const definitions = `provider "hashicorp/null" {\n  versions  = ["3.2.0"]\n  platforms = ["linux_amd64"]\n}\n`;

interface Case {
  name: string;
  fault: FaultRule;
  env?: Record<string, string>;
  code: number;
  output?: RegExp;
  stored: number;
  /** Requests of paths matching the pattern, at least. */
  requests?: [RegExp, number];
}

const cases: Case[] = [
  { name: 'a signature by a key the registry does not list is rejected', fault: { fault: { kind: 'badSignature' } }, code: 1, output: /signature/, stored: 0 },
  { name: 'a listed key that did not sign is rejected', fault: { fault: { kind: 'unknownKey' } }, code: 1, output: /signature/, stored: 0 },
  { name: 'an archive whose sha256 differs from the shasum is rejected', fault: { fault: { kind: 'shaMismatch' } }, code: 1, output: /checksum/, stored: 0 },
  { name: 'a signed SHA256SUMS that disagrees with the shasum is rejected', fault: { fault: { kind: 'sumsMismatch' } }, code: 1, output: /checksum/, stored: 0 },
  { name: 'a truncated archive download is retried', fault: { fault: { kind: 'truncated' }, path: /\.zip$/, times: 1 }, code: 0, stored: 1, requests: [/\.zip$/, 2] },
  {
    name: 'an archive that is always truncated fails after max_attempts',
    fault: { fault: { kind: 'truncated' }, path: /\.zip$/ },
    env: { TFM_JOBS_MAX_ATTEMPTS: '2' },
    code: 1,
    output: /truncated response/,
    stored: 0,
    requests: [/\.zip$/, 2],
  },
  { name: '429 with Retry-After is retried after the delay', fault: { fault: { kind: 'status429', retryAfter: 1 }, path: /\/download\//, times: 1 }, code: 0, stored: 1, requests: [/\/download\//, 2] },
  { name: '500 then success is retried', fault: { fault: { kind: 'status500' }, path: /\.zip$/, times: 2 }, code: 0, stored: 1, requests: [/\.zip$/, 3] },
];

for (const c of cases) {
  test(c.name, async (t) => {
    const s = await loadSetup(upstream);
    t.teardown(() => s.close());
    s.registry.fault(c.fault);
    const started = performance.now();
    const res = await runCli(['load', s.writeDefinitions('defs.hcl', definitions)], { ...s.env, ...c.env });
    t.is(res.code, c.code, res.stdout + res.stderr);
    if (c.output) t.regex(res.stdout, c.output);
    t.is(s.packages().length, c.stored);
    t.is(s.storedZips().length, c.stored, 'no object without a row');
    if (c.requests) t.true(s.registry.requests(c.requests[0]) >= c.requests[1], `requests of ${c.requests[0]}`);
    if (c.fault.fault.kind === 'status429') t.true(performance.now() - started >= 1000, 'waited for Retry-After');
  });
}
