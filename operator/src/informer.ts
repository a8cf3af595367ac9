/**
 * Informers whose caches hold only what the controller reads. A cluster's
 * objects carry metadata.managedFields and kubectl's last-applied annotation,
 * which together are often larger than the object itself; the cache keeps
 * every watched object for the life of the process, so those are dropped as
 * each object arrives (list and watch alike). Status stays: reconcile
 * compares against it to skip writes that would change nothing.
 */

import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The object without the fields no reconcile reads; mutates and returns it (it was just parsed). */
export function leanObject<T extends KubernetesObject>(obj: T): T {
  const metadata = obj.metadata;
  if (!metadata) return obj;
  delete metadata.managedFields;
  if (metadata.annotations && LAST_APPLIED in metadata.annotations) {
    delete metadata.annotations[LAST_APPLIED];
    if (Object.keys(metadata.annotations).length === 0) delete metadata.annotations;
  }
  return obj;
}

/** A Watch whose events carry lean objects. The ERROR event's Status (no metadata to strip) passes unchanged. */
class LeanWatch extends Watch {
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(path, queryParams, (phase, obj, raw) => callback(phase, phase === 'ERROR' ? obj : leanObject(obj as KubernetesObject), raw), done);
  }
}

/** makeInformer with lean caches: same list/watch protocol, same events. */
export function makeLeanInformer<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
): ListWatch<T> {
  const leanList = async () => {
    const result = await list();
    for (const item of result.items ?? []) leanObject(item);
    return result;
  };
  return new ListWatch<T>(path, new LeanWatch(kubeConfig), leanList, false);
}
