/**
 * A background job run every `intervalMs`, one run at a time: `run()` runs it now, or joins the run in progress; a
 * failed run goes to `onError` and the next one tries again. Its timer never keeps the process alive.
 */
export function periodic(work: () => Promise<void>, options: { intervalMs: number; onError: (error: unknown) => void }) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const run = (): Promise<void> => {
    running ??= work().catch(options.onError).finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    run,
    start(): void {
      void run();
      timer = setInterval(() => void run(), options.intervalMs);
      timer.unref();
    },
    /** Stops the timer, after the run in progress. */
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}
