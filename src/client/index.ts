export { RagmemClient, RagmemError, type RagmemClientOptions } from './ragmem-client';
export type * from './client-types';
