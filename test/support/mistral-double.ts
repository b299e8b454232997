import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local stand-in for the Mistral API speaking its wire format (snake_case JSON, SSE streams): enough for the
 * official SDK to validate every response. Content is deterministic: chat echoes the last user message, embeddings
 * are derived from a hash of each input. Behaviours scripted with `script()` are consumed one per request.
 */

export type Behaviour = (
  { status: 429; retryAfter?: number; body?: unknown } | { status: number; body?: unknown } | { delayMs: number } | { brokenStream: true }
) & {
  /** Only a request this accepts takes the behaviour; others pass it by. Without it, the next request takes it. */
  for?: (request: RecordedRequest) => boolean;
};

export interface RecordedRequest {
  path: string;
  body: any;
  headers: Record<string, string | string[] | undefined>;
  /** Set once the client closed the connection before the response ended (abort, timeout). */
  closedEarly: boolean;
}

export interface MistralDouble {
  /** Base URL WITHOUT /v1 (what the SDK's serverURL wants). */
  url: string;
  close(): Promise<void>;
  requests: RecordedRequest[];
  script(next: Behaviour[]): void;
  /** Drops what is left of the script (a storm ends at once); answers how many behaviours were still unused. */
  clearScript(): number;
  /** Resolves when the request at `index` has been closed by the client before its response ended. */
  waitForClientClose(index: number, timeoutMs?: number): Promise<void>;
}

export interface MistralDoubleOptions {
  apiKey?: string;
  dimensions?: number;
  /** Echoed stream: the answer is split into this many delta chunks at most. */
  streamChunks?: number;
  /**
   * Every embeddings request answers after this long: a job then takes a known minimum time whatever the machine's
   * speed, so a test can act in its middle (kill its worker, stop the service) without racing it.
   */
  embedDelayMs?: number;
}

export const DOUBLE_API_KEY = 'test-mistral-key';

export async function startMistralDouble(opts: MistralDoubleOptions = {}): Promise<MistralDouble> {
  const apiKey = opts.apiKey ?? DOUBLE_API_KEY;
  const dimensions = opts.dimensions ?? 1024;
  const queue: Behaviour[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const closeWaiters = new Map<number, Array<() => void>>();
  let counter = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { object: 'error', message: String(err), type: 'internal', code: null });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: any;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const record: RecordedRequest = { path: req.url ?? '', body, headers: { ...req.headers }, closedEarly: false };
    const index = requests.push(record) - 1;
    res.on('close', () => {
      if (!res.writableFinished) {
        record.closedEarly = true;
        for (const wake of closeWaiters.get(index) ?? []) wake();
        closeWaiters.delete(index);
      }
    });

    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return sendJson(res, 401, { message: 'Unauthorized', request_id: 'double' });
    }
    // A service under test also calls the model from background jobs (summaries, embeddings): a behaviour meant for
    // one call names it with `for`, or such a job could take it first.
    const taken = queue.findIndex((b) => !b.for || b.for(record));
    const behaviour = taken < 0 ? undefined : queue.splice(taken, 1)[0];
    if (behaviour && 'delayMs' in behaviour) {
      await sleep(behaviour.delayMs, res);
      if (res.destroyed) return;
    }
    if (behaviour && 'status' in behaviour) {
      const headers: Record<string, string> = {};
      if ('retryAfter' in behaviour && behaviour.retryAfter !== undefined) headers['retry-after'] = String(behaviour.retryAfter);
      const errBody = behaviour.body ?? {
        object: 'error',
        message: `scripted ${behaviour.status}`,
        type: 'scripted',
        param: null,
        code: String(behaviour.status),
      };
      return sendJson(res, behaviour.status, errBody, headers);
    }
    const broken = !!behaviour && 'brokenStream' in behaviour;
    if (opts.embedDelayMs && req.url === '/v1/embeddings') {
      await sleep(opts.embedDelayMs, res);
      if (res.destroyed) return;
    }

    if (req.method === 'POST' && req.url === '/v1/chat/completions') return chat(body, res, broken);
    if (req.method === 'POST' && req.url === '/v1/embeddings') return embeddings(body, res, broken);
    return sendJson(res, 404, { object: 'error', message: `no route ${req.method} ${req.url}`, type: 'not_found', code: null });
  }

  function chat(body: any, res: ServerResponse, broken: boolean): void {
    if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
      return sendJson(res, 422, { object: 'error', message: 'model and messages are required', type: 'invalid_request_error', code: null });
    }
    const lastUser = [...body.messages].reverse().find((m: any) => m.role === 'user');
    let answer = `echo: ${lastUser?.content ?? ''}`;
    let finishReason = 'stop';
    const completionWords = answer.split(/(?<= )/);
    if (typeof body.max_tokens === 'number' && completionWords.length > body.max_tokens) {
      answer = completionWords.slice(0, body.max_tokens).join('');
      finishReason = 'length';
    }
    const usage = {
      prompt_tokens: body.messages.reduce((n: number, m: any) => n + wordCount(String(m.content)), 0),
      completion_tokens: Math.min(completionWords.length, body.max_tokens ?? Infinity),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const id = `cmpl-${++counter}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      if (broken) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"' + id + '","object":');
        return void res.destroy();
      }
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        model: body.model,
        created,
        usage,
        choices: [{ index: 0, message: { role: 'assistant', content: answer, tool_calls: null }, finish_reason: finishReason }],
      });
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const pieces = splitInto(answer, opts.streamChunks ?? 3);
    const chunk = (delta: Record<string, unknown>, finish: string | null, withUsage: boolean) =>
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model: body.model,
        choices: [{ index: 0, delta, finish_reason: finish }],
        ...(withUsage ? { usage } : {}),
      })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }, null, false));
    pieces.forEach((piece, i) => {
      if (broken && i === 1) return;
      if (broken && i > 1) return;
      res.write(chunk({ content: piece }, null, false));
    });
    if (broken) {
      // Half a chunk, then the socket goes away.
      res.write('data: {"id":"' + id + '","obj');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.write(chunk({ content: '' }, finishReason, true));
    res.end('data: [DONE]\n\n');
  }

  function embeddings(body: any, res: ServerResponse, broken: boolean): void {
    // The wire field is `input` (the SDK's `inputs` is remapped to it).
    const inputs: string[] = typeof body?.input === 'string' ? [body.input] : body?.input;
    if (!body || typeof body.model !== 'string' || !Array.isArray(inputs)) {
      return sendJson(res, 422, { object: 'error', message: 'model and input are required', type: 'invalid_request_error', code: null });
    }
    if (broken) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"emb');
      return void res.destroy();
    }
    const tokens = inputs.reduce((n, t) => n + wordCount(t), 0);
    sendJson(res, 200, {
      id: `emb-${++counter}`,
      object: 'list',
      model: body.model,
      data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text, dimensions) })),
      usage: { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens },
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(next) {
      queue.push(...next);
    },
    clearScript() {
      return queue.splice(0).length;
    },
    waitForClientClose(index, timeoutMs = 5000) {
      if (requests[index]?.closedEarly) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`request ${index} was not closed by the client within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const list = closeWaiters.get(index) ?? [];
        list.push(() => {
          clearTimeout(timer);
          resolve();
        });
        closeWaiters.set(index, list);
      });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Deterministic unit vector from a SHA-256 stream of the text. Exported so tests can compute expectations. */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const out: number[] = new Array(dimensions);
  let block = Buffer.alloc(0);
  let counter = 0;
  for (let i = 0; i < dimensions; i++) {
    const offset = (i * 2) % 32;
    if (offset === 0) block = createHash('sha256').update(`${counter++}:${text}`).digest();
    out[i] = (block.readUInt16BE(offset) / 65535) * 2 - 1;
  }
  const norm = Math.sqrt(out.reduce((s, v) => s + v * v, 0)) || 1;
  return out.map((v) => v / norm);
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function splitInto(text: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
