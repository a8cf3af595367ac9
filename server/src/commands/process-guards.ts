import type { Logger } from '../log.js';

/**
 * Keeps `serve` up through a promise rejected with no handler. Node's default
 * ends the process, so one forgotten background promise (a shared upstream
 * request whose callers all went away) would take every client down with it.
 * A rejection is an error in one operation, not corrupt process state, so it
 * is logged and the server goes on. Uncaught exceptions still end the process:
 * after one, state may be half-updated. Returns the uninstaller.
 */
export function logUnhandledRejections(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection; serving on');
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
