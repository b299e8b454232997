import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { errorHandler } from '../../src/api/middleware/error-handler';
import { AppError } from '../../src/errors';

/** The one error middleware, on a real Express app over real HTTP: what a client sees of a fault on our side. */
let server: Server;
let base: string;
beforeAll(async () => {
  const app = express();
  app.get('/bug', () => {
    throw new TypeError("Cannot read properties of undefined (reading 'password=hunter2')");
  });
  app.get('/async-bug', async () => {
    await Promise.resolve();
    throw new Error('redis://admin:hunter2@10.0.0.5 refused');
  });
  app.get('/known', () => {
    throw new AppError('embedding_mismatch', 'The index holds 64-dimensional vectors, the model makes 1024');
  });
  app.use(errorHandler);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('When a request meets an error without a code of ours', () => {
  it('then it answers 500 internal_error with a fixed message, never the error text', async () => {
    for (const path of ['/bug', '/async-bug']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'Something went wrong on our side' } });
      expect(text).not.toContain('hunter2');
    }
  });

  it('then an AppError of status 500 keeps its own code and message', async () => {
    const res = await fetch(base + '/known');
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: unknown }).error).toEqual({
      code: 'embedding_mismatch',
      message: 'The index holds 64-dimensional vectors, the model makes 1024',
    });
  });
});
