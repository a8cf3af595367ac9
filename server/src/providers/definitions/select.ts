/** Which versions a definition asks for, given what the upstream offers. */

import { resolve } from '../constraints.js';
import { compareVersions } from '../version.js';
import type { ProviderDefinition } from './types.js';

/**
 * Exact versions (whether or not the upstream lists them: fetching will say
 * so) plus each constraint's matches among `available`, at most `latest` per
 * constraint. Newest first, without duplicates.
 */
export function selectVersions(
  def: Pick<ProviderDefinition, 'versions' | 'latest'>,
  available: readonly string[],
): string[] {
  const chosen = new Set<string>();
  for (const selector of def.versions) {
    if (selector.exact !== undefined) chosen.add(selector.exact);
    if (selector.constraint) for (const v of resolve(selector.constraint, available, def.latest)) chosen.add(v);
  }
  return [...chosen].sort((a, b) => compareVersions(b, a));
}
