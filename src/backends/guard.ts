import type { Backend } from './backend.js';

/** Wraps every method of a backend so that driver errors leave it as ColloquyError, translated in one place. */
export function guard(backend: Backend, translate: (error: unknown) => unknown): Backend {
  const wrapped: Record<string, unknown> = { dialect: backend.dialect, capabilities: backend.capabilities };
  for (const [name, fn] of Object.entries(backend)) {
    if (typeof fn !== 'function') continue;
    if (name === 'poolStats') {
      wrapped[name] = fn; // synchronous and cannot fail
      continue;
    }
    if (name === 'exportRecords') {
      wrapped[name] = async function* (...args: unknown[]) {
        try {
          yield* fn(...args);
        } catch (error) {
          throw translate(error);
        }
      };
      continue;
    }
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw translate(error);
      }
    };
  }
  return Object.freeze(wrapped) as unknown as Backend;
}
