/**
 * Progress for long one-shot commands. On a terminal one status line is
 * redrawn in place; otherwise (CI logs, kubectl logs) each finished item is
 * one plain line, so output stays greppable.
 */
export interface Progress {
  start(label: string, index: number, total: number, bytesTotal?: number): void;
  advance(bytes: number): void;
  /** Replaces the live status line with free text (terminal only). */
  update(text: string): void;
  finish(line: string): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? new TerminalProgress(stream) : new LineProgress(stream);
}

class LineProgress implements Progress {
  constructor(private readonly out: NodeJS.WritableStream) {}
  start(): void {}
  advance(): void {}
  update(): void {}
  finish(line: string): void {
    this.out.write(line + '\n');
  }
  done(): void {}
}

class TerminalProgress implements Progress {
  private label = '';
  private bytes = 0;
  private bytesTotal = 0;
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  start(label: string, index: number, total: number, bytesTotal = 0): void {
    this.label = `[${index + 1}/${total}] ${label}`;
    this.bytes = 0;
    this.bytesTotal = bytesTotal;
    this.draw(true);
  }

  advance(bytes: number): void {
    this.bytes += bytes;
    this.draw(false);
  }

  update(text: string): void {
    this.label = text;
    this.bytesTotal = -1;
    this.draw(false);
  }

  finish(line: string): void {
    this.out.write(`\r\x1b[K${line}\n`);
  }

  done(): void {
    this.out.write('\r\x1b[K');
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const amount =
      this.bytesTotal < 0 ? '' : this.bytesTotal ? `${formatBytes(this.bytes)} / ${formatBytes(this.bytesTotal)}` : formatBytes(this.bytes);
    const width = this.out.columns ?? 100;
    this.out.write(`\r\x1b[K${`${this.label}  ${amount}`.slice(0, width - 1)}`);
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
