import { AppError } from '../errors';
import type { Embedder } from './embedder';
import type { ModelRegistry, ModelSpec } from './model-registry';
import type { ModelGateway } from './model-gateway';
import { OfflineEmbedder, offlineModelDimensions } from './offline-embedder';

/** An embedding model the gateway calls (cache, limits, accounting, per-tenant usage). */
export function gatewayEmbedder(gateway: ModelGateway, spec: ModelSpec): Embedder {
  if (spec.dimensions === undefined) throw new Error(`model ${spec.id} is not an embedding model (it has no dimensions)`);
  return {
    model: spec.id,
    dimensions: spec.dimensions,
    embed: (texts, opts) =>
      gateway.embed(opts?.tenant ?? 'default', texts, { signal: opts?.signal, model: spec.id, tokenCounts: opts?.tokenCounts }),
  };
}

/** Bounds on an offline model's size: below 16 every text collides, above 4096 it only costs memory. */
const MIN_OFFLINE_DIMENSIONS = 16;
const MAX_OFFLINE_DIMENSIONS = 4096;

/**
 * The embedding models a collection can be indexed with: the configured one (the default), the registry's embedding
 * models whose provider is configured (through the gateway: cache, limits, accounting), and the offline embedder at
 * any size (`offline-hash-v1-<dimensions>`). One Embedder per model, built on first use.
 */
export class Embedders {
  private readonly byModel = new Map<string, Embedder>();

  constructor(
    readonly defaultEmbedder: Embedder,
    private readonly registry: ModelRegistry,
    private readonly gateway: ModelGateway,
  ) {
    this.byModel.set(defaultEmbedder.model, defaultEmbedder);
  }

  /** The embedder of `model`; throws unknown_embedding_model (400) for a model this deployment cannot run. */
  forModel(model: string): Embedder {
    const known = this.byModel.get(model);
    if (known) return known;
    const built = this.build(model);
    this.byModel.set(model, built);
    return built;
  }

  private build(model: string): Embedder {
    const offlineDimensions = offlineModelDimensions(model);
    if (offlineDimensions !== undefined && offlineDimensions >= MIN_OFFLINE_DIMENSIONS && offlineDimensions <= MAX_OFFLINE_DIMENSIONS) {
      return new OfflineEmbedder({ model, dimensions: offlineDimensions });
    }
    const spec = this.registry.models.get(model);
    // Offline models are built above, in-process; any other embedding model goes through the gateway if it serves it.
    if (spec?.dimensions !== undefined && spec.provider !== 'offline' && this.gateway.serves(spec))
      return gatewayEmbedder(this.gateway, spec);
    throw new AppError('unknown_embedding_model', `Unknown embedding model "${model}": known models are ${this.known().join(', ')}`, {
      model,
      known: this.known(),
    });
  }

  /** For error messages: the models that can be asked for by name. */
  private known(): string[] {
    const registered = [...this.registry.models.values()]
      .filter((m) => m.dimensions !== undefined && this.gateway.serves(m))
      .map((m) => m.id);
    return [
      ...new Set([this.defaultEmbedder.model, ...registered, `offline-hash-v1-<${MIN_OFFLINE_DIMENSIONS}..${MAX_OFFLINE_DIMENSIONS}>`]),
    ];
  }
}
