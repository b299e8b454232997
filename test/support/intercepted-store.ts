import type { VectorStore } from '../../src/stores/vector/vector-store';

/**
 * The real store, with `beforeUpsert` run ahead of every upsert (it may throw, as a failing store does, or wait, to
 * hold a job at a known point). Everything else goes straight to the store.
 */
export function interceptUpserts(
  inner: VectorStore,
  beforeUpsert: (chunks: Parameters<VectorStore['upsert']>[0]) => Promise<void> | void,
): VectorStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'upsert') {
        return async (...args: Parameters<VectorStore['upsert']>) => {
          await beforeUpsert(args[0]);
          return target.upsert(...args);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
