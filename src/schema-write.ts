/**
 * `npm run schema`: regenerates schemas/experiment.schema.json from the layer registry.
 * The committed file is what editors and `validate` read; a test fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import { SCHEMA_FILE, schemaText } from './schema.js';

writeFileSync(SCHEMA_FILE, schemaText());
console.log(`wrote ${SCHEMA_FILE}`);
