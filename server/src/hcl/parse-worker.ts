/**
 * Worker-thread side of parseHcl(): hcl2json (Go compiled to
 * WebAssembly) runs synchronously and costs about a second per 100 KiB, so
 * it must not run on the thread that serves requests.
 */
import { parentPort } from 'node:worker_threads';

interface Request {
  id: number;
  file: string;
  text: string;
}

const port = parentPort!;
port.on('message', (req: Request) => {
  void (async () => {
    try {
      const { parse } = await import('@cdktf/hcl2json');
      port.postMessage({ id: req.id, value: await parse(req.file, req.text) });
    } catch (err) {
      port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
