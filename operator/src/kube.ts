/**
 * The Kubernetes side of reconciliation: read a custom resource, write its
 * /status, its finalizer and Events. A port (KubeAccess) with one adapter on
 * @kubernetes/client-node; errors keep the client's ApiException.
 */

import http from 'node:http';
import https from 'node:https';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from './api/v1alpha1.js';
import type { EventSpec, MirrorResource } from './decide.js';

export type ResourceKind = MirrorResource['kind'];

export const PLURALS: Record<ResourceKind, string> = {
  ProviderSet: 'providersets',
  ProviderMirror: 'providermirrors',
  ModuleSet: 'modulesets',
};

export interface ObjectRef {
  kind: ResourceKind;
  namespace: string;
  name: string;
}

export interface KubeAccess {
  /** undefined when the object no longer exists. */
  get(ref: ObjectRef): Promise<MirrorResource | undefined>;
  /** Merge patch on /status; `status` already holds nulls for removed keys. */
  patchStatus(ref: ObjectRef, status: Record<string, unknown>): Promise<void>;
  /** Replace metadata.finalizers, guarded by the resourceVersion it was computed from. */
  setFinalizers(ref: ObjectRef, resourceVersion: string, finalizers: string[]): Promise<void>;
  createEvent(object: MirrorResource, event: EventSpec, now: Date): Promise<void>;
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

export function kubeAccess(kc: KubeConfig, component = 'terraform-mirror-operator'): KubeAccess {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const crd = (ref: ObjectRef) => ({ group: GROUP, version: VERSION, plural: PLURALS[ref.kind], namespace: ref.namespace, name: ref.name });
  return {
    async get(ref) {
      try {
        return (await custom.getNamespacedCustomObject(crd(ref))) as MirrorResource;
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async patchStatus(ref, status) {
      await custom.patchNamespacedCustomObjectStatus(
        { ...crd(ref), body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    async setFinalizers(ref, resourceVersion, finalizers) {
      await custom.patchNamespacedCustomObject(
        {
          ...crd(ref),
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
            { op: 'add', path: '/metadata/finalizers', value: finalizers },
          ],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
    },
    async createEvent(object, event, now) {
      const name = object.metadata.name ?? '';
      const namespace = object.metadata.namespace ?? 'default';
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.` },
          involvedObject: {
            apiVersion: API_VERSION,
            kind: object.kind,
            name,
            namespace,
            uid: object.metadata.uid,
            resourceVersion: object.metadata.resourceVersion,
          },
          type: event.type,
          reason: event.reason,
          message: event.message,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          source: { component },
          reportingComponent: component,
        },
      });
    },
  };
}

type AgentFactory = (cluster: { server?: string; proxyUrl?: string; skipTLSVerify?: boolean } | null, options: Record<string, unknown>) => http.Agent;

/**
 * KubeConfig makes a new Agent for every request, so each one opens a TCP
 * connection (and on a real cluster a TLS handshake with a fresh secure
 * context). Here one keep-alive agent serves every request with the same
 * server and TLS material, and is replaced only when those change (a rotated
 * client certificate; the old agent's sockets close as the server drops them).
 * Proxied clusters, and whatever the client would refuse, keep its own path.
 */
export function withKeepAlive(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createAgent: AgentFactory };
  const original = target.createAgent.bind(kc);
  let current: { key: string; agent: http.Agent } | undefined;
  target.createAgent = (cluster, options) => {
    const server = cluster?.server ?? '';
    const plain = server.startsWith('http:');
    if (cluster?.proxyUrl || (!plain && !server.startsWith('https:')) || (plain && !cluster?.skipTLSVerify)) return original(cluster, options);
    const key = JSON.stringify([server, Object.entries(options).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])]);
    if (current?.key !== key) {
      const agent = plain ? new http.Agent({ ...options, keepAlive: true }) : new https.Agent({ ...(options as https.AgentOptions), keepAlive: true });
      current = { key, agent };
    }
    return current.agent;
  };
  return kc;
}
