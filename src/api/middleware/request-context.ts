import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { Metrics } from '../../infra/metrics';
import type { RequestScope } from '../../infra/request-scope';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id (echoed when the client sent a sane one), a logger bound to it on every line, and a duration metric. With
 * a scope, the rest of the request runs inside it, so the jobs it queues carry its id (see RequestScope).
 */
export function requestContext(logger: Logger, metrics: Metrics, scope?: RequestScope): RequestHandler[] {
  const http = pinoHttp({
    logger,
    genReqId: (req, res) => {
      const sent = req.headers['x-request-id'];
      const id = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
  const timing: RequestHandler = (req, res, next) => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => end({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  };
  if (!scope) return [http, timing];
  const scoped: RequestHandler = (req, _res, next) => scope.run(String(req.id), next);
  return [http, timing, scoped];
}
