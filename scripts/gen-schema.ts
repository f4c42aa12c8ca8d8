// Writes config/schema.json, the JSON Schema that editors check config files against (config files
// reference it with "$schema"), from the config schema itself (src/config/schema.ts). test/config-schema.test.ts
// fails when the committed file is not what this writes.
//   npm run gen:schema
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.js';

export const SCHEMA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'config', 'schema.json');

/** The text of config/schema.json: the input side of the schema (what a file may say), defaults included. */
export function schemaText(): string {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    target: 'draft-7',
    unrepresentable: 'any',
    // A section's default is its keys' defaults, listed with each key already.
    override: ({ jsonSchema }) => {
      if (jsonSchema.type === 'object') delete jsonSchema.default;
    },
  });
  const described = { ...schema, title: 'guesttools-reconciler configuration', description: 'See config/example.jsonc for every key with its meaning.' };
  return `${JSON.stringify(described, null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
