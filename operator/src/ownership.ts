/**
 * Which server records belong to custom resources in the cluster. `tfmirror
 * apply` writes records with a uid of its own ("apply:ns/name") that no
 * object in the cluster stands behind; the controller must never collect them.
 */

export const APPLY_UID_PREFIX = 'apply:';

export function isApplyRecord(record: { uid: string }): boolean {
  return record.uid.startsWith(APPLY_UID_PREFIX);
}
