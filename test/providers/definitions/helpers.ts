import type { ExecutionContext } from 'ava';
import { InvalidInput } from '../../../server/src/errors.js';
import {
  parseDefinitions,
  type DefinitionFormat,
  type ProviderDefinition,
} from '../../../server/src/providers/definitions/index.js';

/** A document from its lines, so tests read like the file they stand for. */
export function lines(...texts: string[]): string {
  return `${texts.join('\n')}\n`;
}

/** Definitions without positions, which legitimately differ between formats. */
export function withoutPositions(defs: ProviderDefinition[]): Omit<ProviderDefinition, 'position'>[] {
  return defs.map(({ position: _position, ...rest }) => rest);
}

/** Parses text expected to be invalid and returns the InvalidInput. */
export async function parseError(
  t: ExecutionContext,
  text: string,
  format: DefinitionFormat | 'auto',
  file = `defs.${format}`,
): Promise<InvalidInput> {
  return t.throwsAsync(() => parseDefinitions(text, { format, file }), { instanceOf: InvalidInput });
}
