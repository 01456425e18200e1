/**
 * Wraps every method of a repository so that driver errors leave it as ColloquyError, translated in one place.
 * Async generators (the export) are wrapped as generators; `sync` names the synchronous members that cannot fail.
 */
export function guard<R extends object>(repository: R, translate: (error: unknown) => unknown, sync: readonly string[] = []): R {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(repository)) {
    if (typeof fn !== 'function' || sync.includes(name)) {
      wrapped[name] = fn;
    } else if (fn.constructor.name === 'AsyncGeneratorFunction') {
      wrapped[name] = async function* (...args: unknown[]) {
        try {
          yield* fn(...args);
        } catch (error) {
          throw translate(error);
        }
      };
    } else {
      // Not an async wrapper: one `.catch` costs fewer microtask turns than an `await`, on every call.
      const rethrow = (error: unknown) => Promise.reject(translate(error));
      wrapped[name] = (...args: unknown[]) => {
        try {
          return (fn(...args) as Promise<unknown>).catch(rethrow);
        } catch (error) {
          return rethrow(error);
        }
      };
    }
  }
  return Object.freeze(wrapped) as R;
}
