import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { deflateRawSync } from 'node:zlib';
import yazl from 'yazl';

/**
 * A provider zip of about `targetBytes`, shaped like a real one: a single
 * executable that deflates like a compiled binary (the Node executable,
 * repeated), streamed to disk without holding it in memory, in the
 * `terraform providers mirror` layout with its h1 listed.
 */
export async function writeBigProviderMirror(dir: string, targetBytes: number, type = 'big'): Promise<{ zip: string; uncompressed: number }> {
  const binary = fs.readFileSync(process.execPath);
  const ratio = deflateRawSync(binary.subarray(0, 8 << 20)).length / (8 << 20);
  const copies = Math.max(1, Math.round(targetBytes / (binary.length * ratio)));
  const uncompressed = copies * binary.length;

  const typeDir = path.join(dir, 'registry.terraform.io', 'acme', type);
  fs.mkdirSync(typeDir, { recursive: true });
  const filename = `terraform-provider-${type}_1.0.0_linux_amd64.zip`;
  const zipPath = path.join(typeDir, filename);
  const name = `terraform-provider-${type}_v1.0.0_x5`;

  const contentHash = createHash('sha256');
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < copies; i++) {
        contentHash.update(binary);
        yield binary;
      }
    })(),
  );
  const zip = new yazl.ZipFile();
  zip.addReadStream(source, name, { mode: 0o755, mtime: new Date('2024-01-01T00:00:00Z'), size: uncompressed });
  zip.end();
  await pipeline(zip.outputStream, fs.createWriteStream(zipPath));

  const line = `${contentHash.digest('hex')}  ${name}\n`;
  const h1 = `h1:${createHash('sha256').update(line).digest('base64')}`;
  fs.writeFileSync(path.join(typeDir, 'index.json'), JSON.stringify({ versions: { '1.0.0': {} } }));
  fs.writeFileSync(path.join(typeDir, '1.0.0.json'), JSON.stringify({ archives: { linux_amd64: { url: filename, hashes: [h1] } } }));
  return { zip: zipPath, uncompressed };
}
