import express, { type Express } from 'express';
import { authenticate } from './middleware/auth';
import { errorHandler, notFoundRoute } from './middleware/error-handler';
import { fairAdmission } from './middleware/fair-admission';
import { AskSlots, askAdmission } from './middleware/ask-admission';
import { keyRateLimit } from './middleware/key-rate-limit';
import { requestContext } from './middleware/request-context';
import { uploadAdmission } from './middleware/upload-admission';
import { adminQueuesRouter } from './routes/admin-queues';
import { consoleRouter } from './routes/console';
import { documentsRouter } from './routes/documents';
import { healthRouter } from './routes/health';
import { operationsRouter } from './routes/operations';
import { reindexRouter } from './routes/reindex';
import { searchRouter } from './routes/search';
import { sessionsRouter } from './routes/sessions';
import { usageRouter } from './routes/usage';
import { mcpRouter } from '../mcp/mcp-router';
import type { ListedRouter } from './routes/listed-router';
import type { AppDeps } from './app-deps';

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  // Every route the app serves, as "METHOD /path" (the OpenAPI test holds it against the document).
  const routes: string[] = [];
  app.locals.routes = routes;
  const mount = (router: ListedRouter) => {
    routes.push(...router.declared);
    app.use(router);
  };
  app.use(requestContext(deps.logger, deps.metrics, deps.requestScope));
  mount(healthRouter(deps));
  mount(operationsRouter());
  // The web console's static files are public (not API routes, so not in `routes`); its API calls carry the user's key.
  app.use(consoleRouter(deps.config.consoleDir));
  // Before tenant auth: the dashboard has its own key, which no tenant key replaces.
  mount(adminQueuesRouter(deps));
  // Sets res.locals.tenant and res.locals.keyId (per-key limits go right after it).
  app.use(authenticate(deps.authenticator));
  app.use(keyRateLimit(deps.requestLimiter));
  // Before the body is read: an ask past the bound costs nothing.
  // One bound for HTTP and MCP asks (the MCP ask tool takes its place from the same slots).
  const askSlots = new AskSlots(deps.config.limits.maxInflightAsks);
  app.use(askAdmission(askSlots));
  // Before any body is read: bounds the request bodies this process holds in memory at once.
  app.use(
    uploadAdmission({
      maxInflightBytes: deps.config.limits.maxInflightUploadBytes,
      maxUploadBytes: deps.config.limits.maxUploadBytes,
      maxJsonBytes: deps.config.limits.maxJsonBytes,
    }).middleware,
  );
  app.use(express.json({ limit: deps.config.limits.maxJsonBytes, strict: false }));
  // The MCP endpoint (src/mcp): behind auth and the body limits, ahead of the turns, which its tools take themselves
  // (an ask must not hold one while it waits for the model: see mcp/tenant-turn.ts).
  mount(mcpRouter(deps, askSlots));
  // Once the body is in: tenants take turns at this process's work.
  app.use(fairAdmission(deps.fairScheduler));
  mount(documentsRouter(deps));
  mount(searchRouter(deps));
  mount(reindexRouter(deps));
  mount(sessionsRouter(deps));
  mount(usageRouter(deps));
  app.use(notFoundRoute);
  app.use(errorHandler);
  return app;
}
