// Regenerates docs/site.schema.json from the zod schema: `npm run schema`.
import { writeFile } from 'node:fs/promises';
import { siteJsonSchemaText } from '../infra/site/json-schema';

await writeFile('docs/site.schema.json', siteJsonSchemaText());
console.log('wrote docs/site.schema.json');
