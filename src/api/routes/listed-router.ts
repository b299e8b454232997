import { Router, type RequestHandler } from 'express';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** An Express Router that also lists the routes declared on it, as "POST /sessions/:id/ask". */
export type ListedRouter = Router & { readonly declared: readonly string[] };

/**
 * A Router whose route declarations are also written down, so the app can say what it serves (`app.locals.routes`)
 * and a test can hold that list against the OpenAPI document without reading Express's internal route stack.
 */
export function listedRouter(): ListedRouter {
  const router = Router();
  const declared: string[] = [];
  for (const method of METHODS) {
    const declare = router[method].bind(router) as (path: string, ...handlers: RequestHandler[]) => Router;
    Object.assign(router, {
      [method]: (path: string, ...handlers: RequestHandler[]) => {
        declared.push(`${method.toUpperCase()} ${path}`);
        return declare(path, ...handlers);
      },
    });
  }
  return Object.assign(router, { declared });
}
