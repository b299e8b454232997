import { Router, type RequestHandler, type Response } from 'express';
import { AppError } from '../../errors';

/**
 * The web console's built files (`npm run build` writes them to dist/console; CONSOLE_DIR points elsewhere). Public, like
 * /docs: the page holds no data, and every API call it makes carries the key its user enters.
 *
 * Only these names are served, so an API request never costs a file lookup and nothing else in the folder leaks.
 */
const CONSOLE_FILES = ['/', '/index.html', '/app.js', '/styles.css'];

/** Scripts, styles and API calls from this origin only; no inline code, no frames, no plugins, no form posts. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

const notBuilt = () =>
  new AppError('console_not_built', 'The web console is not built here: run `npm run build` (it writes dist/console), or set CONSOLE_DIR');

/** GET / (index.html) and its two assets from `dir`; a missing folder or file answers 404 console_not_built. */
export function consoleRouter(dir: string): Router {
  const router = Router();
  const serve =
    (file: string): RequestHandler =>
    (_req, res, next) => {
      securityHeaders(res);
      // no-cache: the names carry no content hash, so a browser revalidates (ETag) and sees a new build at once.
      res.sendFile(file, { root: dir, dotfiles: 'deny', cacheControl: false, headers: { 'Cache-Control': 'no-cache' } }, (err) => {
        if (!err) return;
        const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
        next(status === 404 ? notBuilt() : err);
      });
    };
  // One route per file: each request's metrics label is its own path.
  for (const route of CONSOLE_FILES) router.get(route, serve(route === '/' ? 'index.html' : route.slice(1)));
  return router;
}
