import test from 'ava';
import { loadError, loadText, removeTempDirs } from './helpers.js';

test.after.always(removeTempDirs);

test('modules_url is read per upstream, normalized with a trailing slash, beside providers_url', async (t) => {
  const { config } = await loadText(`upstream "registry.terraform.io" {
  providers_url = "https://mirror-a.example.com/hosts/registry.terraform.io/v1/providers/"
  modules_url   = "https://mirror-a.example.com/hosts/registry.terraform.io/v1/modules"
}
upstream "local.test" {
  modules_url = "http://127.0.0.1:8080/v1/modules/"
}
`);
  t.deepEqual(config.upstreams['registry.terraform.io'], {
    url: 'https://registry.terraform.io/',
    providersUrl: 'https://mirror-a.example.com/hosts/registry.terraform.io/v1/providers/',
    modulesUrl: 'https://mirror-a.example.com/hosts/registry.terraform.io/v1/modules/',
  });
  t.is(config.upstreams['local.test']?.modulesUrl, 'http://127.0.0.1:8080/v1/modules/');
});

test('an empty modules_url leaves the upstream on discovery', async (t) => {
  const { config } = await loadText('upstream "corp.example.com" {\n  modules_url = ""\n}\n');
  t.deepEqual(config.upstreams['corp.example.com'], { url: 'https://corp.example.com/' });
});

const errorCases: { name: string; text: string; message: RegExp }[] = [
  {
    name: 'modules_url with network_mirror is refused: a network mirror serves no modules',
    text: 'upstream "corp.example.com" {\n  network_mirror = "https://b.example.com/"\n  modules_url    = "https://a.example.com/v1/modules/"\n}\n',
    message: /tfm\.hcl:3:3: upstream\["corp\.example\.com"\]\.modules_url: cannot be set together with network_mirror: a network mirror serves no modules/,
  },
  {
    name: 'a plain http modules_url on a public name is refused',
    text: 'upstream "corp.example.com" {\n  modules_url = "http://mirror.example.com/v1/modules/"\n}\n',
    message: /tfm\.hcl:2:3: upstream\["corp\.example\.com"\]\.modules_url: must be an https URL/,
  },
  {
    name: 'a modules_url that is not a URL is refused',
    text: 'upstream "corp.example.com" {\n  modules_url = "mirror-a/modules"\n}\n',
    message: /tfm\.hcl:2:3: upstream\["corp\.example\.com"\]\.modules_url: must be an absolute http\(s\) URL/,
  },
  {
    name: 'modules_url must be a string',
    text: 'upstream "corp.example.com" {\n  modules_url = true\n}\n',
    message: /tfm\.hcl:2:3: upstream\["corp\.example\.com"\]\.modules_url: expected a string/,
  },
];

for (const c of errorCases) {
  test(c.name, async (t) => {
    const { err } = await loadError(c.text);
    t.regex(err.message, c.message);
  });
}
