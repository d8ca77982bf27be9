/**
 * The schema the quick yes/no validator is compiled from: the committed schema with every oneOf
 * of single-key mappings (a layer is `{conv2d: {…}}`, a stage `{train: {…}}`) rewritten as one
 * mapping holding exactly one of those keys. Both accept exactly the same documents (a test holds
 * them to it), but ajv runs a oneOf by trying all nine layer kinds on every layer and recording
 * why eight of them failed, while `properties` looks only at the key that is there.
 */
type Json = unknown;
type Obj = Record<string, Json>;

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{type: object, additionalProperties: false, required: [k], properties: {k: …}}`: its key k. */
function singleKey(branch: Json): string | undefined {
  if (!isObj(branch) || branch.type !== 'object' || branch.additionalProperties !== false) return undefined;
  const { required, properties } = branch;
  if (!Array.isArray(required) || required.length !== 1 || !isObj(properties)) return undefined;
  const keys = Object.keys(properties);
  const allowed = new Set(['type', 'additionalProperties', 'required', 'properties', 'description', 'title']);
  if (keys.length !== 1 || keys[0] !== required[0] || !Object.keys(branch).every((k) => allowed.has(k))) return undefined;
  return keys[0];
}

export function quickSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(quickSchema);
  if (!isObj(schema)) return schema;
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) out[k] = quickSchema(v);
  const branches = out.oneOf;
  if (Array.isArray(branches) && branches.length > 1) {
    const keys = branches.map(singleKey);
    if (keys.every((k) => k !== undefined) && new Set(keys).size === keys.length) {
      delete out.oneOf;
      Object.assign(out, {
        type: 'object',
        minProperties: 1,
        maxProperties: 1,
        additionalProperties: false,
        properties: Object.fromEntries(branches.map((b, i) => [keys[i], ((b as Obj).properties as Obj)[keys[i]!]])),
      });
    }
  }
  return out;
}
