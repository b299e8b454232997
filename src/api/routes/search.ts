import { searchWithOptions } from '../../search/search-options';
import { tenantOf } from '../middleware/auth';
import { DEFAULT_COLLECTION } from '../../core/collections';
import { searchBodySchema } from '../schemas/search';
import type { AppDeps } from '../app-deps';
import { toSearchResultView, type SearchResults } from '../views/search-views';
import { listedRouter, type ListedRouter } from './listed-router';

export function searchRouter(deps: AppDeps): ListedRouter {
  const router = listedRouter();
  router.post('/search', async (req, res) => {
    const body = searchBodySchema.parse(req.body ?? {});
    const hits = await searchWithOptions(
      deps,
      tenantOf(res),
      { query: body.query, k: body.k, collection: body.collection ?? DEFAULT_COLLECTION, mode: body.mode, filter: body.filter },
      { diversity: body.diversity, mergeAdjacent: body.mergeAdjacent },
    );
    res.json({ results: hits.map(toSearchResultView) } satisfies SearchResults);
  });
  return router;
}
