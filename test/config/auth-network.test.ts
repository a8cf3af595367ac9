import test from 'ava';
import { loadConfig } from '../../server/src/config/load.js';
import { loadError, loadText, removeTempDirs, tempDir } from './helpers.js';

test.after.always(removeTempDirs);

const HEX_TOKEN = 'a3f1c9e07b2d4856'.repeat(4); // 64 hex characters, like `openssl rand -hex 32`
const BASE64_TOKEN = 'q7Vw2Zk9XbR4tLm8Np3Hc6Jf1Gd5Sa0Ey+Ui/Oo7Pr4='; // 44, like `openssl rand -base64 32`

test('trusted_proxies is empty by default, also with tls = false', async (t) => {
  const config = await loadConfig({ env: { TFM_SERVER_TLS: 'false' }, cwd: tempDir() });
  t.deepEqual(config.server.trustedProxies, []);
});

test('trusted_proxies takes CIDRs and bare addresses from the file and from TFM_SERVER_TRUSTED_PROXIES', async (t) => {
  const { config } = await loadText('server {\n  trusted_proxies = ["10.0.0.0/8", "fd00::/8", "192.0.2.7"]\n}\n');
  t.deepEqual(config.server.trustedProxies, ['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
  const fromEnv = await loadConfig({ env: { TFM_SERVER_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1/32' }, cwd: tempDir() });
  t.deepEqual(fromEnv.server.trustedProxies, ['10.0.0.0/8', '127.0.0.1/32']);
});

const badCidrs = [
  { name: 'a hostname', value: 'proxy.internal' },
  { name: 'a prefix longer than the address', value: '10.0.0.0/33' },
  { name: 'an IPv6 prefix over 128', value: 'fd00::/129' },
  { name: 'two slashes', value: '10.0.0.0/8/8' },
  { name: 'a non-numeric prefix', value: '10.0.0.0/x' },
];
for (const c of badCidrs) {
  test(`a trusted_proxies entry that is ${c.name} is an error naming the key`, async (t) => {
    const { err } = await loadError(`server {\n  trusted_proxies = ["${c.value}"]\n}\n`);
    t.regex(err.message, /tfm\.hcl:2:\d+: server\.trusted_proxies: /);
    t.true(err.message.includes(JSON.stringify(c.value)));
  });
}

test('an operator token shorter than 32 random bytes is a config error naming the key', async (t) => {
  for (const token of ['bootstrap-operator-token-for-tests', 'abcdef0123456789abcdef0123456789', 'x'.repeat(43), HEX_TOKEN.slice(0, 63)]) {
    const { err } = await loadError(undefined, { TFM_AUTH_OPERATOR_TOKEN: token });
    t.regex(err.message, /^TFM_AUTH_OPERATOR_TOKEN: |auth\.operator_token: /, token);
    t.regex(err.message, /32 random bytes|repetitive/, token);
    t.false(err.message.includes(token), 'the secret itself is not echoed');
  }
});

test('operator tokens from openssl rand -hex 32 and -base64 32 are accepted, and empty stays off', async (t) => {
  for (const token of [HEX_TOKEN, BASE64_TOKEN, '']) {
    const config = await loadConfig({ env: { TFM_AUTH_OPERATOR_TOKEN: token }, cwd: tempDir() });
    t.is(config.auth.operatorToken, token);
  }
});

test('auth.max_concurrent_logins defaults to 0 (twice the cores) and takes a number', async (t) => {
  t.is((await loadConfig({ env: {}, cwd: tempDir() })).auth.maxConcurrentLogins, 0);
  t.is((await loadConfig({ env: { TFM_AUTH_MAX_CONCURRENT_LOGINS: '3' }, cwd: tempDir() })).auth.maxConcurrentLogins, 3);
  const { err } = await loadError(undefined, { TFM_AUTH_MAX_CONCURRENT_LOGINS: '-1' });
  t.regex(err.message, /^TFM_AUTH_MAX_CONCURRENT_LOGINS: /);
});
