import path from 'node:path';
import express from 'express';
import { buildOpenApiDocument } from '../openapi/openapi-document';
import { listedRouter, type ListedRouter } from './listed-router';

/** swagger-ui-dist ships its assets as files; they are served from the installed package, as no CDN is reachable. */
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/**
 * Only what /docs loads. The package also holds a demo index.html and initializer pointing at the Petstore, which
 * would only confuse here.
 */
const SWAGGER_UI_ASSET = /^\/(swagger-ui\.css|swagger-ui-bundle\.js|swagger-ui-standalone-preset\.js|favicon-(16x16|32x32)\.png)(\.map)?$/;

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ragmem API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: '/openapi.json',
      dom_id: '#swagger-ui',
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout',
      persistAuthorization: true,
    });
  </script>
</body>
</html>
`;

/** The API's description (GET /openapi.json) and Swagger UI over it (GET /docs). Public, like /healthz. */
export function operationsRouter(): ListedRouter {
  const router = listedRouter();
  const document = JSON.stringify(buildOpenApiDocument());

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(document);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(DOCS_PAGE);
  });
  const assets = express.static(SWAGGER_UI_DIR, { index: false, redirect: false, maxAge: '1d', fallthrough: true });
  router.use('/docs', (req, res, next) => (SWAGGER_UI_ASSET.test(req.path) ? assets(req, res, next) : next()));
  return router;
}
