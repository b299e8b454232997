import fs from 'node:fs';
import { CLIENT_TYPES_FILE, generateClientTypes } from '../../scripts/client-types';

describe('The typed client’s OpenAPI types', () => {
  it('are exactly what `npm run client:types` generates from the current OpenAPI document', async () => {
    // A route or view changed without regenerating fails here, not in a client's build.
    expect(fs.readFileSync(CLIENT_TYPES_FILE, 'utf8')).toBe(await generateClientTypes());
  });
});
