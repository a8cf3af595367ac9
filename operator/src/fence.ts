/**
 * Write fencing for a replica that may lose its Lease. Leadership is lost on
 * a clock, not an event: a worker already inside a reconcile when the renew
 * deadline passes must not write afterwards, because another replica may
 * take the Lease once it expires. Every write the controller makes (to the
 * cluster or to the server) asks the gate first; reads pass.
 */

import type { KubeAccess } from './kube.js';
import type { ServerClient } from './server-client.js';

/** true while this replica may write (it holds the Lease and is within the renew deadline). */
export type WriteGate = () => boolean;

/** A write refused because this replica is no longer sure it leads; the work queue retries (or is shut down). */
export class NotLeading extends Error {
  override readonly name = 'NotLeading';
}

async function fenced<T>(gate: WriteGate, what: string, write: () => Promise<T>): Promise<T> {
  if (!gate()) throw new NotLeading(`not the leader: refusing ${what}`);
  return await write();
}

export function fencedKube(kube: KubeAccess, gate: WriteGate): KubeAccess {
  return {
    get: (ref) => kube.get(ref),
    patchStatus: (...args) => fenced(gate, 'a status write', () => kube.patchStatus(...args)),
    setFinalizers: (...args) => fenced(gate, 'a finalizer change', () => kube.setFinalizers(...args)),
    createEvent: (...args) => fenced(gate, 'an event', () => kube.createEvent(...args)),
  };
}

/** Spelled out per method, so a method added to the port must be classed as a read or a write here. */
export function fencedServer(server: ServerClient, gate: WriteGate): ServerClient {
  return {
    get: (...args) => server.get(...args),
    list: () => server.list(),
    put: (...args) => fenced(gate, 'a server PUT', () => server.put(...args)),
    delete: (...args) => fenced(gate, 'a server DELETE', () => server.delete(...args)),
  };
}
