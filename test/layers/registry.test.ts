import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { LAYER_KINDS, layerKind } from '../../src/layers/index.js';

const KINDS = [
  'conv2d', 'maxPooling2d', 'averagePooling2d', 'globalAveragePooling2d', 'flatten',
  'dense', 'dropout', 'batchNormalization', 'activation',
];

describe('the layer registry', () => {
  it('registers every kind once, by its key', () => {
    expect(LAYER_KINDS.map((k) => k.kind)).toEqual(KINDS);
    for (const k of KINDS) expect(layerKind(k)?.kind).toBe(k);
    expect(layerKind('conv3d')).toBeUndefined();
  });

  describe.each(LAYER_KINDS.map((k) => [k.kind, k] as const))('%s schema', (_name, kind) => {
    const schema = kind.schema as {
      type: string;
      additionalProperties: boolean;
      properties: Record<string, Record<string, unknown>>;
      required?: string[];
    };

    it('is a closed object without the shared name, every property described', () => {
      expect(kind.description.length).toBeGreaterThan(0);
      expect(schema.type).toBe('object');
      expect(schema.additionalProperties).toBe(false);
      expect(schema.properties).not.toHaveProperty('name');
      for (const [key, prop] of Object.entries(schema.properties)) {
        expect(typeof prop.description, key).toBe('string');
      }
      for (const key of schema.required ?? []) expect(schema.properties).toHaveProperty(key);
    });

    it('compiles under strict ajv, and its defaults are valid values', () => {
      const ajv = new Ajv({ strict: true, allErrors: true });
      ajv.compile(schema);
      for (const [key, prop] of Object.entries(schema.properties)) {
        if (!('default' in prop)) continue;
        const { default: value, ...rest } = prop;
        expect(ajv.validate(rest, value), `${key}: ${ajv.errorsText()}`).toBe(true);
      }
    });

    it('resolves to what the schema accepts, and again to the same', () => {
      const ajv = new Ajv({ strict: true });
      const validate = ajv.compile(schema);
      const minimal = Object.fromEntries((schema.required ?? []).map((k) => [k, sample(k)]));
      const resolved = kind.resolve(minimal);
      expect(validate(resolved), ajv.errorsText(validate.errors)).toBe(true);
      expect(kind.resolve(resolved)).toEqual(resolved);
    });
  });

  it('refuses bad arguments', () => {
    const ajv = new Ajv({ strict: true });
    const check = (kind: string, args: unknown) => ajv.validate(layerKind(kind)!.schema, args);
    expect(check('conv2d', { filters: 8, kernelSize: [3, 3] })).toBe(true);
    expect(check('conv2d', { filters: 8, kernelSize: [3, 3, 3] })).toBe(false);
    expect(check('conv2d', { filters: 0, kernelSize: 3 })).toBe(false);
    expect(check('conv2d', { filters: 8 })).toBe(false);
    expect(check('conv2d', { filters: 8, kernelSize: 3, activation: 'leakyRelu' })).toBe(false);
    expect(check('conv2d', { filters: 8, kernelSize: 3, padding: 'causal' })).toBe(false);
    expect(check('maxPooling2d', { poolSize: 0 })).toBe(false);
    expect(check('dropout', { rate: 1 })).toBe(false);
    expect(check('dropout', { rate: 0 })).toBe(true);
    expect(check('dropout', { rate: -0.1 })).toBe(false);
    expect(check('batchNormalization', { epsilon: 0 })).toBe(false);
    expect(check('flatten', { units: 3 })).toBe(false);
    expect(check('activation', {})).toBe(false);
  });
});

function sample(key: string): unknown {
  return { filters: 4, kernelSize: 3, units: 10, rate: 0.5, activation: 'relu' }[key];
}
