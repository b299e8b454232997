export { startQdrantDouble } from './server';
export type { QdrantDouble, QdrantDoubleOptions, RecordedRequest, RejectedRequest } from './server';
export { qdrantIdf } from './engine';
