/**
 * observe → decide → act → status (STYLE rule 9). `decide` is pure (decide.ts);
 * this module does the calls. A missing object stops; InvalidSpec is written
 * to status and not retried; anything else is thrown for the queue's backoff.
 */

import type { Logger } from '../../server/src/log.js';
import { type Decision, FINALIZER, type MirrorResource, POLL_WHILE_RUNNING_MS, decide, sameJson } from './decide.js';
import type { KubeAccess, ObjectRef } from './kube.js';
import { InvalidSpec, NotFound, type ServerClient, type ServerStatus } from './server-client.js';

export { decide, type Decision } from './decide.js';

export interface ReconcileDeps {
  kube: KubeAccess;
  server: ServerClient;
  now: () => Date;
  logger?: Logger;
  /**
   * The informer cache's copy, read instead of a GET (client-go controllers
   * do the same): a stale copy costs at most a rejected finalizer write or a
   * status written twice, and the watch event that refreshes it queues the
   * object again. Not in the cache: read live, so a record whose object is
   * gone is told apart from one the cache has not seen yet.
   */
  cached?: (ref: ObjectRef) => MirrorResource | undefined;
}

export interface ReconcileResult {
  requeueAfterMs: number | undefined;
}

export async function reconcile(ref: ObjectRef, deps: ReconcileDeps): Promise<ReconcileResult> {
  const object = deps.cached?.(ref) ?? (await deps.kube.get(ref));
  if (!object) {
    // Gone (Retain, or our finalizer already removed): drop the server's record, keep the packages.
    await deps.server.delete(ref.namespace, ref.name, false, ref.kind).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
    return { requeueAfterMs: undefined };
  }
  const server = await observeServer(deps.server, ref);
  let decision = decide({ object, server, now: deps.now() });

  switch (decision.action) {
    case 'add-finalizer':
      await deps.kube.setFinalizers(ref, object.metadata.resourceVersion ?? '', [...(object.metadata.finalizers ?? []), FINALIZER]);
      return { requeueAfterMs: undefined }; // the update event brings us back
    case 'delete-and-unfinalize':
      await deps.server.delete(ref.namespace, ref.name, decision.purge, ref.kind);
      await deps.kube.setFinalizers(
        ref,
        object.metadata.resourceVersion ?? '',
        (object.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
      );
      deps.logger?.info({ ...ref, purge: decision.purge }, 'released the server record and removed the finalizer');
      return { requeueAfterMs: undefined };
    case 'put':
      decision = await put(object, ref, decision, deps);
      break;
    case 'get':
    case 'none':
      break;
  }
  await writeStatus(object, ref, decision, deps);
  return { requeueAfterMs: decision.requeueAfterMs };
}

async function observeServer(client: ServerClient, ref: ObjectRef): Promise<ServerStatus | undefined> {
  try {
    return await client.get(ref.namespace, ref.name, ref.kind);
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  }
}

async function put(object: MirrorResource, ref: ObjectRef, decision: Decision, deps: ReconcileDeps): Promise<Decision> {
  try {
    const server = await deps.server.put(ref.namespace, ref.name, {
      uid: object.metadata.uid ?? '',
      generation: object.metadata.generation ?? 0,
      kind: object.kind,
      spec: object.spec,
      ...(decision.resync ? { resync: true } : {}),
    });
    const after = decide({ object, server, now: deps.now() });
    // A server that does not echo our generation would make us PUT forever: poll instead.
    return after.action === 'put' ? { ...after, action: 'get', requeueAfterMs: POLL_WHILE_RUNNING_MS } : after;
  } catch (err) {
    if (!(err instanceof InvalidSpec)) throw err;
    deps.logger?.warn({ ...ref, err: err.message }, 'the server refused the spec');
    return decide({ object, server: undefined, now: deps.now(), invalidSpec: err.message });
  }
}

async function writeStatus(object: MirrorResource, ref: ObjectRef, decision: Decision, deps: ReconcileDeps): Promise<void> {
  const before = (object.status ?? {}) as Record<string, unknown>;
  const after = decision.status as Record<string, unknown>;
  if (sameJson(before, after)) return;
  const patch: Record<string, unknown> = { ...after };
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  await deps.kube.patchStatus(ref, patch);
  for (const event of decision.events) {
    try {
      await deps.kube.createEvent(object, event, deps.now());
    } catch (err) {
      deps.logger?.warn({ ...ref, err: String(err) }, 'could not record an event');
    }
  }
}
