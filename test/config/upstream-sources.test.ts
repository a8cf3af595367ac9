import test from 'ava';
import { loadError, loadText, removeTempDirs } from './helpers.js';

test.after.always(removeTempDirs);

test('providers_url, network_mirror and allow_unsigned are read per upstream, URLs normalized with a trailing slash', async (t) => {
  const { config } = await loadText(`upstream "registry.terraform.io" {
  providers_url = "https://mirror-a.example.com/hosts/registry.terraform.io/v1/providers"
}
upstream "registry.opentofu.org" {
  allow_unsigned = true
}
upstream "corp.example.com" {
  network_mirror = "https://artifactory.example.com/api/terraform/providers/"
}
upstream "local.test" {
  network_mirror = "http://127.0.0.1:8080/mirror"
}
`);
  t.deepEqual(config.upstreams['registry.terraform.io'], {
    url: 'https://registry.terraform.io/',
    providersUrl: 'https://mirror-a.example.com/hosts/registry.terraform.io/v1/providers/',
  });
  t.deepEqual(config.upstreams['registry.opentofu.org'], { url: 'https://registry.opentofu.org/', allowUnsigned: true });
  t.deepEqual(config.upstreams['corp.example.com'], {
    url: 'https://corp.example.com/',
    networkMirror: 'https://artifactory.example.com/api/terraform/providers/',
  });
  t.is(config.upstreams['local.test']?.networkMirror, 'http://127.0.0.1:8080/mirror/');
});

test('allow_unsigned = false and empty URLs leave the upstream a plain registry', async (t) => {
  const { config } = await loadText('upstream "corp.example.com" {\n  allow_unsigned = false\n  providers_url = ""\n  network_mirror = ""\n}\n');
  t.deepEqual(config.upstreams['corp.example.com'], { url: 'https://corp.example.com/' });
});

const errorCases: { name: string; text: string; message: RegExp }[] = [
  {
    name: 'providers_url and network_mirror together are refused at the later one, naming both',
    text: 'upstream "corp.example.com" {\n  providers_url  = "https://a.example.com/v1/providers/"\n  network_mirror = "https://b.example.com/"\n}\n',
    message: /tfm\.hcl:3:3: upstream\["corp\.example\.com"\]\.network_mirror: cannot be set together with providers_url/,
  },
  {
    name: 'a plain http network_mirror on a public name is refused',
    text: 'upstream "corp.example.com" {\n  network_mirror = "http://mirror.example.com/"\n}\n',
    message: /tfm\.hcl:2:3: upstream\["corp\.example\.com"\]\.network_mirror: must be an https URL \(plain http only on loopback or a private address\)/,
  },
  {
    name: 'a plain http providers_url on a public address is refused',
    text: 'upstream "corp.example.com" {\n  providers_url = "http://8.8.8.8/v1/providers/"\n}\n',
    message: /tfm\.hcl:2:3: upstream\["corp\.example\.com"\]\.providers_url: must be an https URL/,
  },
  {
    name: 'a providers_url that is not a URL is refused',
    text: 'upstream "corp.example.com" {\n\n  providers_url = "mirror-a/hosts"\n}\n',
    message: /tfm\.hcl:3:3: upstream\["corp\.example\.com"\]\.providers_url: must be an absolute http\(s\) URL/,
  },
  {
    name: 'allow_unsigned must be a bool',
    text: 'upstream "corp.example.com" {\n  allow_unsigned = "yes"\n}\n',
    message: /tfm\.hcl:2:3: upstream\["corp\.example\.com"\]\.allow_unsigned: expected a bool, got string "yes"/,
  },
  {
    name: 'an unknown key in an upstream block suggests the close one',
    text: 'upstream "corp.example.com" {\n  network_mirrors = "https://b.example.com/"\n}\n',
    message: /upstream\["corp\.example\.com"\]\.network_mirrors: unknown key; did you mean upstream\["corp\.example\.com"\]\.network_mirror\?/,
  },
];

for (const c of errorCases) {
  test(c.name, async (t) => {
    const { err } = await loadError(c.text);
    t.regex(err.message, c.message);
  });
}
