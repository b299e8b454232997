export { startQdrantDouble, onPoints, SHARD_FAULTS } from './server';
export type { QdrantDouble, QdrantDoubleOptions, QdrantFault, RecordedRequest, RejectedRequest } from './server';
export { qdrantIdf } from './engine';
