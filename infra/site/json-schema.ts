// JSON Schema for editors, generated from the zod schema (never hand-written).
import { z } from 'zod';
import { SiteSchema } from './schema';

export function siteJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(SiteSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://flotilla.dev/schemas/site.schema.json', title: 'Flotilla Site inventory' };
}

export function siteJsonSchemaText(): string {
  return `${JSON.stringify(siteJsonSchema(), null, 2)}\n`;
}
