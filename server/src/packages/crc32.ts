/**
 * CRC-32 (IEEE, as in zip). yauzl does not check entry CRCs, but Go's
 * archive/zip does, so a zip with a bad CRC fails `terraform init`; we check
 * it at ingestion to refuse such packages early. Node >= 20.15 has a native
 * zlib.crc32; the table fallback keeps the declared engine range (>= 20.11).
 */

import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;

const native = (zlib as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;

function fallbackCrc32(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) {
    crc = (table[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}

/** Running CRC-32: pass the previous result as `value` to continue over the next chunk. */
export const crc32: Crc32 = typeof native === 'function' ? native : fallbackCrc32;

/** Exposed for the test that checks the fallback against the native implementation. */
export const crc32Fallback: Crc32 = fallbackCrc32;
