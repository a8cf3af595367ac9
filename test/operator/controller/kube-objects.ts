/** The ProviderSet the controller tests create in the fake apiserver's namespace "ns". */
export const CR = { group: 'tfmirror.dev', version: 'v1alpha1', plural: 'providersets', namespace: 'ns' } as const;

export const providerSetBody = (name: string) => ({
  apiVersion: 'tfmirror.dev/v1alpha1',
  kind: 'ProviderSet',
  metadata: { name },
  spec: { providers: [{ source: 'hashicorp/null', versions: ['3.2.0'], platforms: ['linux_amd64'] }] },
});
