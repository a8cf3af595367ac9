import test from 'ava';
import { loadConfig } from '../../server/src/config/load.js';
import { InvalidInput } from '../../server/src/errors.js';
import { loadError, removeTempDirs, tempDir } from './helpers.js';

test.after.always(removeTempDirs);

interface ErrorCase {
  name: string;
  text?: string;
  env?: NodeJS.ProcessEnv;
  message: RegExp;
  details?: Partial<InvalidInput['details']>;
}

const errorCases: ErrorCase[] = [
  {
    name: 'a syntax error reports the file line and column',
    text: 'server {\n  listen = \n}\n',
    message: /tfm\.hcl:2:12: Invalid expression: Expected the start of an expression/,
    details: { line: 2, column: 12 },
  },
  {
    name: 'an unknown key is named by its dotted path with its line and a suggestion',
    text: 'data_dir = "d"\nserver {\n  listne = "0.0.0.0:80"\n}\n',
    message: /tfm\.hcl:3:3: server\.listne: unknown key; did you mean server\.listen\?/,
    details: { line: 3, column: 3, key: 'server.listne' },
  },
  {
    name: 'an unknown block is named with a suggestion',
    text: 'servr {\n}\n',
    message: /tfm\.hcl:1:1: servr: unknown key or block; did you mean server\?/,
    details: { key: 'servr', line: 1 },
  },
  {
    name: 'a value of the wrong type names the key, what was expected and what was given',
    text: 'jobs {\n  concurrency = "8"\n}\n',
    message: /jobs\.concurrency: expected an integer, got string "8"/,
    details: { key: 'jobs.concurrency', line: 2 },
  },
  {
    name: 'an unquoted word is reported as an unsupported expression',
    text: 'storage {\n  type = s3\n}\n',
    message: /storage\.type: expected a literal value, got the expression s3; quote literal strings/,
  },
  { name: 'listen without a port is rejected', text: 'server {\n  listen = "localhost"\n}\n', message: /server\.listen: must be host:port/ },
  { name: 'listen with port 70000 is rejected', env: { TFM_SERVER_LISTEN: '127.0.0.1:70000' }, message: /^TFM_SERVER_LISTEN: port must be 0\.\.65535, got 70000$/ },
  { name: 'listen with an unbracketed IPv6 address asks for brackets', env: { TFM_SERVER_LISTEN: '::1:8443' }, message: /put IPv6 addresses in brackets/ },
  { name: 'listen without a host is rejected', env: { TFM_SERVER_LISTEN: ':8443' }, message: /host is missing/ },
  {
    name: 'a TLS certificate without its key is rejected',
    text: 'server {\n  tls_cert_file = "c.pem"\n}\n',
    message: /tfm\.hcl:2:3: server\.tls_cert_file: is set but server\.tls_key_file is not; set both or neither/,
  },
  {
    name: 'a TLS key without its certificate is rejected',
    env: { TFM_SERVER_TLS_KEY_FILE: 'k.pem' },
    message: /TFM_SERVER_TLS_KEY_FILE: is set but server\.tls_cert_file is not/,
  },
  {
    name: 'tls = false with certificate files is rejected',
    text: 'server {\n  tls = false\n  tls_cert_file = "c.pem"\n  tls_key_file = "k.pem"\n}\n',
    message: /server\.tls: is false but tls_cert_file and tls_key_file are set/,
  },
  { name: 'public_url with a query is rejected', env: { TFM_SERVER_PUBLIC_URL: 'https://m.example.com/?x=1' }, message: /must not have a query/ },
  { name: 'public_url that is not http(s) is rejected', env: { TFM_SERVER_PUBLIC_URL: 'ftp://m.example.com' }, message: /must be an http or https URL/ },
  { name: 'an unknown storage type lists the allowed ones', env: { TFM_STORAGE_TYPE: 'gcs' }, message: /TFM_STORAGE_TYPE: must be one of filesystem, s3; got "gcs"/ },
  {
    name: 's3 storage without a bucket is rejected at the type',
    text: 'storage {\n  type = "s3"\n}\n',
    message: /tfm\.hcl:2:3: storage\.bucket: is required when storage\.type is "s3"/,
  },
  { name: 's3 storage from the environment without a bucket is rejected', env: { TFM_STORAGE_TYPE: 's3' }, message: /^TFM_STORAGE_TYPE: storage\.bucket: is required/ },
  { name: 'presign_ttl beyond 7 days is rejected', text: 'storage {\n  presign_ttl = "8d"\n}\n', message: /storage\.presign_ttl: must be between 1s and 7d, got 8d/ },
  { name: 'a malformed duration is rejected', env: { TFM_SERVER_SHUTDOWN_TIMEOUT: 'soon' }, message: /expected a duration/ },
  { name: 'a malformed size is rejected', env: { TFM_LIMITS_ZIP_MAX_UNCOMPRESSED_BYTES: '2 gallons' }, message: /expected a size/ },
  { name: 'a malformed module download limit is rejected', env: { TFM_LIMITS_MODULE_MAX_DOWNLOAD_BYTES: 'lots' }, message: /^TFM_LIMITS_MODULE_MAX_DOWNLOAD_BYTES: expected a size/ },
  { name: 'a zero module tree limit is rejected', text: 'limits {\n  module_max_tree_bytes = 0\n}\n', message: /limits\.module_max_tree_bytes: must be/ },
  { name: 'module entries outside 1..1000000 are rejected', env: { TFM_LIMITS_MODULE_MAX_ENTRIES: '0' }, message: /TFM_LIMITS_MODULE_MAX_ENTRIES: must be between 1 and 1000000, got 0/ },
  { name: 'concurrency outside 1..64 is rejected', env: { TFM_JOBS_CONCURRENCY: '65' }, message: /TFM_JOBS_CONCURRENCY: must be between 1 and 64, got 65/ },
  { name: 'a boolean from the environment must be a boolean word', env: { TFM_SERVER_TLS: 'maybe' }, message: /expected a bool \(true\/false\/1\/0\/yes\/no\)/ },
  { name: 'an unknown log level lists the allowed ones', env: { TFM_LOG_LEVEL: 'verbose' }, message: /must be one of fatal, error, warn, info, debug, trace/ },
  {
    name: 'an upstream url must be http(s)',
    text: 'upstream "example.com" {\n  url = "ftp://example.com/"\n}\n',
    message: /tfm\.hcl:2:3: upstream\["example\.com"\]\.url: must be an http or https URL/,
  },
  {
    name: 'an upstream hostname configured twice (in any case) is rejected',
    text: 'upstream "example.com" {\n}\nupstream "Example.COM" {\n}\n',
    message: /configured more than once/,
  },
  { name: 'an upstream block without a hostname label is rejected', text: 'upstream {\n  url = "https://x/"\n}\n', message: /upstream: needs a hostname label/ },
  { name: 'a repeated block points at its second definition', text: 'jobs {\n}\n\njobs {\n}\n', message: /tfm\.hcl:4:1: jobs: block is defined 2 times/ },
  { name: 'a pull-through pattern must have three parts', env: { TFM_PULL_THROUGH_INCLUDE: 'hashicorp/*' }, message: /must look like <hostname>\/<namespace>\/<type>/ },
  {
    name: 'the operator token is environment-only; in the file it is unknown',
    text: 'operator {\n  token = "x"\n}\n',
    message: /tfm\.hcl:2:3: operator\.token: can only be set through the environment, as TFM_OPERATOR_TOKEN/,
  },
  {
    name: 'an unknown TFM_ variable is named with a suggestion',
    env: { TFM_SERVER_LISTNE: '0.0.0.0:80' },
    message: /^unknown environment variable TFM_SERVER_LISTNE; did you mean TFM_SERVER_LISTEN\?$/,
    details: { key: 'TFM_SERVER_LISTNE' },
  },
  { name: 'an unknown TFM_ variable far from any key gets no suggestion', env: { TFM_WHATEVER: '1' }, message: /^unknown environment variable TFM_WHATEVER$/ },
];

for (const c of errorCases) {
  test(c.name, async (t) => {
    const { err, file } = await loadError(c.text, c.env);
    t.regex(err.message, c.message);
    // Problems located in the file carry it in details; environment ones do not.
    t.is(err.details.file, err.message.startsWith(file) ? file : undefined);
    for (const [k, v] of Object.entries(c.details ?? {})) t.is(err.details[k as keyof typeof err.details], v, k);
  });
}

test('a missing config file is an InvalidInput naming it', async (t) => {
  const cwd = tempDir();
  const err = await t.throwsAsync(loadConfig({ file: 'nope.hcl', env: {}, cwd }), { instanceOf: InvalidInput });
  t.regex(err.message, /cannot read config file .*nope\.hcl: no such file/);
});

test('every problem is reported at once, one per line, in file order, details from the first', async (t) => {
  const { err, file } = await loadError('jobs {\n  concurrency = 0\n}\nserver {\n  listen = "nope"\n}\n', { TFM_BOGUS: 'x' });
  const lines = err.message.split('\n');
  t.is(lines.length, 3);
  t.regex(lines[0]!, /:2:3: jobs\.concurrency: must be between 1 and 64/);
  t.regex(lines[1]!, /:5:3: server\.listen: must be host:port/);
  t.regex(lines[2]!, /unknown environment variable TFM_BOGUS/);
  t.deepEqual(err.details, { file, line: 2, column: 3, key: 'jobs.concurrency' });
});


test('line numbers survive comments, strings and heredocs that contain braces', async (t) => {
  const text = [
    '# server { bogus = 1 }', // 1
    '/* jobs {', // 2
    '  nope = 2 } */', // 3
    'operator { namespace = "a}b" }', // 4
    'pull_through {', // 5
    '  include = [', // 6
    '    "x/y/z", # {', // 7
    '  ]', // 8
    '  exclude = <<EOT', // 9
    '  }', // 10
    'EOT', // 11
    '  enabled = { a = 1 }', // 12
    '}', // 13
    'server {', // 14
    '  listen = "${"}"}"', // 15
    '  blah = 1', // 16
    '}', // 17
    '',
  ].join('\n');
  const { err } = await loadError(text);
  t.deepEqual(
    err.message.split('\n').map((l) => /:(\d+):(\d+): (\S+):/.exec(l)?.slice(1).join(' ')),
    ['4 12 operator.namespace', '9 3 pull_through.exclude', '12 3 pull_through.enabled', '15 3 server.listen', '16 3 server.blah'],
  );
});

test('a syntax error that cascades is reported once per distinct diagnostic', async (t) => {
  const { err } = await loadError('server {\n  listen = "x\n}\na = 1\nb = 2\n');
  const lines = err.message.split('\n');
  t.is(lines.length, 2);
  t.true(lines.every((l) => l.includes('tfm.hcl:2:14: ')));
  t.like(err.details, { line: 2, column: 14 });
});
