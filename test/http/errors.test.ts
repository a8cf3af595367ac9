import test from 'ava';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { IntegrityError, InvalidInput, LimitExceeded, Unavailable } from '../../server/src/errors.js';
import { errorHandler } from '../../server/src/http/middleware/errors.js';
import { requestContext } from '../../server/src/http/middleware/request-context.js';
import {
  InvalidUpstreamResponse,
  TruncatedResponse,
  UnknownUpstream,
  UpstreamRefused,
  UpstreamIntegrityFailure,
  UpstreamTimeout,
  UpstreamTooLarge,
  UpstreamUnavailable,
} from '../../server/src/upstream/errors.js';

/** Answers every request by throwing what `current` holds, through the real middleware. */
async function serveThrowing() {
  let current: unknown;
  const app = new Koa();
  app.silent = true;
  app.use(requestContext(pino({ level: 'silent' })));
  app.use(errorHandler());
  app.use(() => {
    throw current;
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    async answer(err: unknown) {
      current = err;
      const res = await fetch(base);
      return { status: res.status, headers: res.headers, body: (await res.json()) as { error: Record<string, unknown> } };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const URL_ = 'https://registry.example.com/v1/providers/hashicorp/null/versions';

interface Case {
  name: string;
  error: unknown;
  status: number;
  upstream?: string;
  retryAfter?: string;
}

const cases: Case[] = [
  { name: 'an unreachable upstream is 502 naming it', error: new UpstreamUnavailable('GET … failed', { url: URL_, status: 500 }), status: 502, upstream: 'registry.example.com' },
  { name: 'an upstream timeout is 504 naming it', error: new UpstreamTimeout('took more than 10 s', { url: URL_ }), status: 504, upstream: 'registry.example.com' },
  { name: 'an oversized upstream answer is 502, not 413', error: new UpstreamTooLarge('response exceeds 4194304 bytes', URL_), status: 502, upstream: 'registry.example.com' },
  { name: 'a truncated upstream answer is 502, not 422', error: new TruncatedResponse('truncated response', URL_), status: 502, upstream: 'registry.example.com' },
  { name: 'an upstream answer breaking the protocol is 502, not 422', error: new InvalidUpstreamResponse(URL_, '"shasum" is not a sha256 checksum'), status: 502, upstream: 'registry.example.com' },
  { name: 'a URL the upstream handed out that is refused is 502', error: new UpstreamRefused('refused to connect to 169.254.169.254', 'registry.example.com'), status: 502, upstream: 'registry.example.com' },
  { name: 'an upstream release failing verification on a read is 502 naming it, not 422', error: new UpstreamIntegrityFailure('registry.example.com', new Error('signature check failed')), status: 502, upstream: 'registry.example.com' },
  { name: 'a hostname without an upstream is the client\'s 400', error: new UnknownUpstream('evil.example'), status: 400 },
  { name: 'storage or database down is 503 with a default Retry-After', error: new Unavailable('storage is not readable'), status: 503, retryAfter: '5' },
  { name: 'Unavailable with its own delay sends that Retry-After', error: new Unavailable('database is locked', { retryAfterSeconds: 30 }), status: 503, retryAfter: '30' },
  { name: 'a write meeting another process\'s SQLite lock is 503 with Retry-After 1, not 500', error: Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), status: 503, retryAfter: '1' },
  { name: 'a client body over a limit stays 413', error: new LimitExceeded('the body is larger than 1048576 bytes'), status: 413 },
  { name: 'client bytes failing a check stay 422', error: new IntegrityError('checksum mismatch for p.zip'), status: 422 },
  { name: 'invalid client input stays 400', error: new InvalidInput('bad'), status: 400 },
  { name: 'an unknown error is 500 without its message', error: new Error('secret internals'), status: 500 },
];

for (const c of cases) {
  test(`error mapping: ${c.name}`, async (t) => {
    const s = await serveThrowing();
    t.teardown(s.close);
    const res = await s.answer(c.error);
    t.is(res.status, c.status);
    t.is(typeof res.body.error.message, 'string');
    if (c.upstream !== undefined) {
      t.is(res.body.error.upstream, c.upstream);
      t.is(typeof res.body.error.requestId, 'string');
    }
    t.is(res.headers.get('retry-after') ?? undefined, c.retryAfter);
    if (c.status === 500) t.is(res.body.error.message, 'internal error');
    else if (!(c.error instanceof Error) || c.error.constructor === Error) t.regex(res.body.error.message as string, /busy/);
    else t.is(res.body.error.message, (c.error as Error).message);
    t.false(JSON.stringify(res.body).includes('    at '), 'no stack trace');
  });
}

test('UnknownUpstream tells how to add the upstream, naming the hostname', async (t) => {
  const s = await serveThrowing();
  t.teardown(s.close);
  const res = await s.answer(new UnknownUpstream('evil.example'));
  t.is(res.body.error.message, 'hostname evil.example has no upstream block; add `upstream "evil.example" {}` to mirror it');
  t.is(res.body.error.key, 'hostname');
});
