import { waitForDocument } from '../support/test-server';
import { waitFor } from '../support/wait-for';
import { apiWithWorkerProcesses, exitOf, SLOW_PROCESS_TEST_MS } from '../support/spawn-entry';

/**
 * A collection rebuild outlives the worker that started it: workers run as their own processes (as in production),
 * one is stopped with SIGTERM mid-build and the next is killed outright; the build resumes from what was already
 * written each time, the old index serves throughout, and the collection ends on the new index with every document.
 */
const api = apiWithWorkerProcesses({
  WORKER_CONCURRENCY: '4',
  REINDEX_CONCURRENCY: '1',
  REINDEX_DROP_GRACE_MS: '100',
  JOB_BACKOFF_MS: '100',
});
const { startWorker } = api;

const text = (i: number) =>
  Array.from(
    { length: 12 },
    (_, s) => `Record ${i} entry ${s}: the beacon${i} logbook notes tide, wind and lamp hours for the night watch.`,
  ).join(' ');

async function progressOf(
  jobId: string,
): Promise<{ status: string; progress: { done: number; total: number }; oldIndex?: { droppedAt: string | null } }> {
  const res = await api.server.request('GET', `/reindex/${jobId}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function expectServing(ids: string[]) {
  for (const i of [0, 17, ids.length - 1]) {
    const res = await api.server.request('POST', '/search', { query: `beacon${i} logbook`, collection: 'harbor', k: 3 });
    expect(res.status).toBe(200);
    expect(res.body.results[0]?.documentId).toBe(ids[i]);
  }
}

describe('When the worker running a reindex stops or dies', () => {
  it(
    'then another worker resumes the build from where it was, and the switch happens once, complete',
    async () => {
      const first = startWorker();
      const bulk = await api.server.request('POST', '/documents/bulk', {
        collection: 'harbor',
        documents: Array.from({ length: 80 }, (_, i) => ({ text: text(i) })),
      });
      const ids = bulk.body.documents.map((d: { id: string }) => d.id) as string[];
      for (const id of ids) expect((await waitForDocument(api.server, id)).status).toBe('ready');

      const started = await api.server.request('POST', '/reindex', {
        collection: 'harbor',
        embeddingModel: 'offline-hash-v1-64',
        chunking: { chunkSize: 24, chunkOverlap: 0 },
      });
      expect({ status: started.status, body: started.body }).toMatchObject({ status: 202 }); // the body explains any other status
      const jobId = started.body.jobId as string;

      // SIGTERM mid-build: the worker exits cleanly without waiting for the whole rebuild.
      await waitFor('the build to start', async () => ((await progressOf(jobId)).progress.done >= 10 ? true : undefined));
      // Deletes from the API process write into the index the worker process is building (two processes, one table).
      const deleted = ids.slice(40, 43);
      for (const id of deleted) expect((await api.server.request('DELETE', `/documents/${id}`)).status).toBe(204);
      first.kill('SIGTERM');
      expect(await exitOf(first)).toBe(0);
      const interrupted = await progressOf(jobId);
      expect(interrupted.status).toBe('running');
      expect(interrupted.progress.done).toBeLessThan(interrupted.progress.total);
      expect((await api.server.services.indexes.catalog.build('default', 'harbor'))?.jobId).toBe(jobId);
      await expectServing(ids);

      // The next worker resumes (never counting from 0 again), and is killed outright further on.
      const second = startWorker();
      const resumedAt = await waitFor('the build to resume', async () => {
        const now = await progressOf(jobId);
        return now.progress.done > interrupted.progress.done ? now.progress.done : undefined;
      });
      expect(resumedAt).toBeGreaterThan(interrupted.progress.done);
      await waitFor('more progress', async () => ((await progressOf(jobId)).progress.done >= resumedAt + 10 ? true : undefined));
      second.kill('SIGKILL');
      await exitOf(second);
      const killedAt = (await progressOf(jobId)).progress.done;
      await expectServing(ids);

      // A third worker takes the stalled job over once its lock expires, and finishes it.
      startWorker();
      let lowest = Number.POSITIVE_INFINITY;
      const done = await waitFor(
        'the reindex to finish',
        async () => {
          const now = await progressOf(jobId);
          if (now.status === 'running') lowest = Math.min(lowest, now.progress.done);
          return ['completed', 'failed', 'cancelled'].includes(now.status) ? now : undefined;
        },
        120_000,
      ); // a worker's start and the killed job's lock expiry, then the rest of the build
      expect(done).toMatchObject({ status: 'completed', progress: { done: 77, total: 77 } });
      if (Number.isFinite(lowest)) expect(lowest).toBeGreaterThanOrEqual(killedAt);

      expect(await api.server.services.indexes.catalog.route('default', 'harbor')).toMatchObject({
        embeddingModel: 'offline-hash-v1-64',
        chunking: { chunkSize: 24 },
      });
      await expectServing(ids);
      const { store } = await api.server.services.indexes.live('default', 'harbor');
      for (const id of ids) {
        if (deleted.includes(id)) expect(await store.count('default', { documentId: id })).toBe(0);
        else expect(await store.count('default', { documentId: id })).toBeGreaterThan(1);
      }
      // The old (default) index loses this collection's chunks REINDEX_DROP_GRACE_MS after the job completed.
      await waitFor('the old index to be dropped', async () => ((await progressOf(jobId)).oldIndex?.droppedAt ? true : undefined));
      expect(await api.server.services.vectors.count('default', { collection: 'harbor' })).toBe(0);
    },
    SLOW_PROCESS_TEST_MS,
  );
});
