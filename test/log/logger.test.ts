import test from 'ava';
import { accessLogger, createLogger } from '../../server/src/log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } };
}

test('the logger redacts secrets one level down and in request headers', (t) => {
  const { lines, stream } = capture();
  const logger = createLogger('info', stream);
  logger.info({ login: { username: 'ada', password: 'hunter2' }, req: { headers: { authorization: 'Bearer x', cookie: 'sid=y' } } }, 'sign-in');
  t.like(lines[0], { msg: 'sign-in', login: { username: 'ada', password: '[redacted]' }, req: { headers: { authorization: '[redacted]', cookie: '[redacted]' } } });
});

test('access lines go to the same stream in the same format, at the same level, without the redaction pass', (t) => {
  const { lines, stream } = capture();
  const logger = createLogger('warn', stream);
  const access = accessLogger(logger);
  t.not(access, logger);
  access.info({ requestId: 'r1', method: 'GET', path: '/x', status: 200 }, 'request');
  t.is(lines.length, 0, 'info is below warn for both');
  access.error({ requestId: 'r2', method: 'GET', path: '/x', status: 500 }, 'request');
  logger.error({ err: 'boom' }, 'other');
  t.is(lines.length, 2);
  const [line, other] = lines as [Record<string, unknown>, Record<string, unknown>];
  t.deepEqual(Object.keys(line).slice(0, 3), ['level', 'time', 'service']);
  t.deepEqual(Object.keys(other).slice(0, 3), ['level', 'time', 'service']);
  t.like(line, { level: 'error', service: 'tfmirror', requestId: 'r2', method: 'GET', path: '/x', status: 500, msg: 'request' });
  t.regex(String(line.time), /^\d{4}-\d\d-\d\dT/);
});

test('a logger createLogger did not make is its own access logger', (t) => {
  const { stream } = capture();
  const child = createLogger('info', stream).child({ worker: 1 });
  t.is(accessLogger(child), child);
});
