/**
 * Reading an untrusted zip, shared by provider packages (inspect-zip.ts) and
 * module archives (modules/extract.ts): the same yauzl options, the entry
 * count refused from the end-of-central-directory record before 65k+ headers
 * are walked, raw names decoded as strict UTF-8, and one rule for which
 * errors mean "not a valid zip". What each kind then accepts stays with it.
 */

import yauzl from 'yauzl';
import { DomainError, IntegrityError, LimitExceeded } from '../errors.js';

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;
/** Unix file-type bits, kept in the high half of an entry's external attributes. */
export const S_IFMT = 0o170000;
export const S_IFLNK = 0o120000;

/**
 * Opens `file` for a walk of its central directory followed by reads of its
 * data, refusing more than `maxEntries` entries (`tooMany` words the refusal).
 * The caller closes the file.
 */
export async function openZip(
  file: string,
  maxEntries: number,
  tooMany: (count: number) => string,
): Promise<yauzl.ZipFile> {
  const zipfile = await yauzl.openPromise(file, {
    lazyEntries: true,
    // Data is read after the whole central directory has been checked, so the
    // file must stay open past the 'end' of entry iteration.
    autoClose: false,
    // Names are decoded and vetted by the caller (UTF-8 only), so yauzl's own
    // CP437 decoding and its rewriting of "\" to "/" never apply.
    decodeStrings: false,
    validateEntrySizes: true,
    // No effect while decodeStrings is false; kept so that flipping it could
    // never silently turn "\" into "/".
    strictFileNames: true,
  });
  if (zipfile.entryCount > maxEntries) {
    zipfile.close();
    throw new LimitExceeded(tooMany(zipfile.entryCount));
  }
  return zipfile;
}

/** The entry's raw name as strict UTF-8, or undefined when it is not valid UTF-8. */
export function utf8Name(entry: yauzl.Entry): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(entry.fileNameRaw);
  } catch {
    return undefined;
  }
}

/** Anything yauzl or zlib reject is a malformed archive; domain and file-system errors stay what they are. */
export function notAValidZip(err: unknown): unknown {
  if (err instanceof DomainError || isSystemError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new IntegrityError(`not a valid zip archive: ${message}`, { cause: err });
}

export function isSystemError(err: unknown): boolean {
  return err instanceof Error && 'syscall' in err && typeof (err as NodeJS.ErrnoException).code === 'string';
}
