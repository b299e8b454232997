import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Embedder } from '../gateway/embedder';
import type { ModelGateway } from '../gateway/model-gateway';
import type { TokenCounter } from '../core/tokens/token-counter';
import type { SessionMemoryProducer } from '../queues/session-memory-queue';
import type { DocumentStore } from '../stores/document/document-store';
import type { SessionStore } from '../stores/session/session-store';
import type { VectorIndexes } from '../indexes/vector-indexes';
import type { SessionRecallIndex } from './session-recall-index';
import type { RecallOptions } from './recall-turns';
import type { FairScheduler } from '../tenancy/fair-scheduler';

/** What the session use-cases need, passed in by the composition root. */
export interface SessionDeps {
  config: Readonly<Pick<Config, 'sessions' | 'search'>>;
  logger: Logger;
  sessions: SessionStore;
  recallIndex: SessionRecallIndex;
  memoryProducer: SessionMemoryProducer;
  gateway: ModelGateway;
  tokenCounter: TokenCounter;
  documents: DocumentStore;
  indexes: VectorIndexes;
  embedder: Embedder;
  /** How recall ranks its candidates; default DEFAULT_RECALL_OPTIONS (the memory evaluation tries others). */
  recall?: Partial<RecallOptions>;
  /** Tenants' turns at this process's work: building an ask's context takes one, its model call does not. */
  fairScheduler?: Pick<FairScheduler, 'enter' | 'enabled'>;
}
