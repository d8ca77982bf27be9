/**
 * The experiment's JSON Schema, assembled from the layer registry. `npm run schema` writes it to
 * schemas/experiment.schema.json, which editors use (yaml-language-server) and `validate` loads;
 * a test keeps the committed file equal to buildSchema().
 *
 * The schema deliberately has no $ref: every branch of a oneOf/anyOf compiles on its own, which
 * is how `validate` re-checks a layer item against the one kind it names (see validate.ts).
 */
import { fileURLToPath } from 'node:url';
import { LAYER_KINDS } from './layers/index.js';
import type { JsonSchema } from './layers/kind.js';

export const SCHEMA_ID = 'urn:cnnc:schema:experiment';

/** The committed schema; src/ and dist/ both sit one level below the package root. */
export const SCHEMA_FILE = fileURLToPath(new URL('../schemas/experiment.schema.json', import.meta.url));

/** The file's exact text: pretty JSON with a trailing newline. */
export function schemaText(): string {
  return `${JSON.stringify(buildSchema(), null, 2)}\n`;
}

/** Shared by the run name and layer names: safe in paths, file names and tfjs scopes. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
/** Top-level keys cnnc ignores, as in docker-compose: room for anchors. */
export const EXTENSION_PATTERN = '^x-';
export const LAYER_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9._-]*$';

export const MNIST = { train: 60000, test: 10000, classes: 10, input: [28, 28, 1] } as const;

export const DEFAULT_SEED = 42;
export const MAX_SEED = 2 ** 32 - 1;

export const OPTIMIZER_DEFAULTS = {
  sgd: { learningRate: 0.01, momentum: 0, nesterov: false },
  adam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  rmsprop: { learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7 },
} as const;

export const TRAIN_DEFAULTS = {
  epochs: 1,
  batchSize: 32,
  loss: 'categoricalCrossentropy',
  metrics: ['accuracy'],
  validationSplit: 0,
} as const;

/** More passes than anyone trains a small vision net for; a bigger number is a typo. */
export const MAX_EPOCHS = 10_000;

export const EVALUATE_DEFAULTS = { batchSize: 256 } as const;

const LOSSES = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy'];
const METRICS = ['accuracy'];

export function buildSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'cnnc experiment',
    description:
      'A convolutional network and what to do with it: the data, the layers in order, and the stages ' +
      '(train, evaluate, finetune) run one after another. Checked by `cnnc check`, run by `cnnc run`.',
    type: 'object',
    additionalProperties: false,
    required: ['name', 'input', 'layers', 'stages'],
    patternProperties: {
      [EXTENSION_PATTERN]: {
        description: 'Ignored by cnnc: a place for YAML anchors (&name) to reuse with aliases (*name) or merge keys (<<: *name)',
      },
    },
    properties: {
      name: {
        description: 'Name of the experiment; names its run directory runs/<name>/',
        type: 'string',
        pattern: NAME_PATTERN,
        maxLength: 64,
      },
      seed: {
        description: 'Seed for weight initialisation, data shuffling and dropout; the same seed reproduces a run',
        type: 'integer',
        minimum: 0,
        maximum: MAX_SEED,
        default: DEFAULT_SEED,
      },
      data: {
        description: 'The dataset and which part of it to use',
        type: 'object',
        additionalProperties: false,
        required: ['dataset'],
        default: { dataset: 'mnist' },
        properties: {
          dataset: { description: 'The dataset: MNIST handwritten digits, 28×28×1, 10 classes', enum: ['mnist'], type: 'string' },
          ...selectionProperties(),
        },
      },
      input: {
        description: 'Shape of one example: [height, width, channels]',
        type: 'array',
        items: { type: 'integer', minimum: 1 },
        minItems: 3,
        maxItems: 3,
      },
      layers: {
        description: 'The layers in order, each a single-key mapping `- <kind>: {arguments}`',
        type: 'array',
        minItems: 1,
        items: { description: 'One layer: its kind as the only key, its arguments as the value', oneOf: LAYER_KINDS.map(layerBranch) },
      },
      shapeFlow: {
        description:
          'Optional assertion: the input spatial size, then the size after each convolution or pooling layer ' +
          '(e.g. [28, 28, 14, 14, 7]); `cnnc check` fails when the model disagrees',
        type: ['array', 'null'],
        items: { type: 'integer', minimum: 1 },
        minItems: 1,
        default: null,
      },
      stages: {
        description: 'What to do with the model, in order; each a single-key mapping `- train: {...}`, `- evaluate: {}`, `- finetune: {...}`',
        type: 'array',
        minItems: 1,
        items: {
          description: 'One stage: train, evaluate or finetune',
          oneOf: [
            stageBranch('train', 'Train all layers on the training split', trainProperties(), ['optimizer']),
            stageBranch('evaluate', 'Measure loss and metrics on the test split', {
              batchSize: { description: 'Examples per batch', type: 'integer', minimum: 1, default: EVALUATE_DEFAULTS.batchSize },
              data: stageData(),
            }, []),
            stageBranch('finetune', 'Train again with some layers frozen (not updated)', {
              freeze: {
                description:
                  'Layers to freeze: a Python slice over the layer list (":4", "1:3", "-2:", ":-2"), ' +
                  'or a list of layer indices (negative counts from the end) and layer names',
                type: ['string', 'array'],
                items: { type: ['integer', 'string'] },
              },
              ...trainProperties(),
            }, ['freeze', 'optimizer']),
          ],
        },
      },
    },
  };
}

function selectionProperties(): JsonSchema {
  return {
    classes: {
      description: 'Use only these labels, relabelled 0..k-1 in this order; null = all 10 classes',
      type: ['array', 'null'],
      items: { type: 'integer', minimum: 0, maximum: MNIST.classes - 1 },
      minItems: 1,
      uniqueItems: true,
      default: null,
    },
    limit: {
      description: 'Use only the first N examples of each split after a seeded shuffle',
      type: 'object',
      additionalProperties: false,
      default: { train: null, test: null },
      properties: {
        train: { description: 'Examples of the training split; null = all 60000', type: ['integer', 'null'], minimum: 1, maximum: MNIST.train, default: null },
        test: { description: 'Examples of the test split; null = all 10000', type: ['integer', 'null'], minimum: 1, maximum: MNIST.test, default: null },
      },
    },
  };
}

function stageData(): JsonSchema {
  return {
    description: "Narrow the top-level data for this stage only: its classes and limit replace the top-level ones (limit field by field); the dataset stays",
    type: 'object',
    additionalProperties: false,
    properties: selectionProperties(),
  };
}

function trainProperties(): JsonSchema {
  return {
    // A bound so that `epochs: 1e300` (an integer to JSON Schema) is refused before it runs forever.
    epochs: { description: 'Passes over the training data', type: 'integer', minimum: 1, maximum: MAX_EPOCHS, default: TRAIN_DEFAULTS.epochs },
    batchSize: { description: 'Examples per gradient step', type: 'integer', minimum: 1, default: TRAIN_DEFAULTS.batchSize },
    optimizer: optimizerSchema(),
    loss: {
      description: 'Loss to minimise; sparse takes integer labels, the other one-hot labels',
      type: 'string',
      enum: LOSSES,
      default: TRAIN_DEFAULTS.loss,
    },
    metrics: {
      description: 'Metrics reported after each epoch',
      type: 'array',
      items: { type: 'string', enum: METRICS },
      uniqueItems: true,
      default: [...TRAIN_DEFAULTS.metrics],
    },
    validationSplit: {
      description: 'Fraction of the training examples held out to report validation loss and metrics; 0 = none',
      type: 'number',
      minimum: 0,
      exclusiveMaximum: 1,
      default: TRAIN_DEFAULTS.validationSplit,
    },
    data: stageData(),
  };
}

function optimizerSchema(): JsonSchema {
  const rate = (dflt: number) => ({ description: 'Step size', type: 'number', exclusiveMinimum: 0, default: dflt });
  const fraction = (description: string, dflt: number) => ({ description, type: 'number', minimum: 0, exclusiveMaximum: 1, default: dflt });
  const epsilon = (dflt: number) => ({ description: 'Added to denominators for numerical stability', type: 'number', exclusiveMinimum: 0, default: dflt });
  const branch = (name: string, description: string, properties: JsonSchema) => ({
    description,
    type: 'object',
    additionalProperties: false,
    properties: { name: { description: 'The optimizer', const: name, type: 'string' }, ...properties },
  });
  const { sgd, adam, rmsprop } = OPTIMIZER_DEFAULTS;
  return {
    description: 'The optimizer and its hyper-parameters (unset ones take the Keras defaults)',
    type: 'object',
    required: ['name'],
    oneOf: [
      branch('sgd', 'Stochastic gradient descent, optionally with momentum', {
        learningRate: rate(sgd.learningRate),
        momentum: fraction('Momentum; 0 = plain SGD', sgd.momentum),
        nesterov: { description: 'Use Nesterov momentum', type: 'boolean', default: sgd.nesterov },
      }),
      branch('adam', 'Adam', {
        learningRate: rate(adam.learningRate),
        beta1: fraction('Decay of the first-moment estimate', adam.beta1),
        beta2: fraction('Decay of the second-moment estimate', adam.beta2),
        epsilon: epsilon(adam.epsilon),
      }),
      branch('rmsprop', 'RMSProp', {
        learningRate: rate(rmsprop.learningRate),
        rho: fraction('Decay of the squared-gradient average', rmsprop.rho),
        momentum: fraction('Momentum; 0 = none', rmsprop.momentum),
        epsilon: epsilon(rmsprop.epsilon),
      }),
    ],
  };
}

function layerBranch(kind: (typeof LAYER_KINDS)[number]): JsonSchema {
  // Kind fragments share sub-objects (e.g. paddingSchema); copy so the schema is a plain tree.
  const fragment = structuredClone(kind.schema);
  const properties = (fragment.properties ?? {}) as JsonSchema;
  return {
    description: kind.description,
    type: 'object',
    additionalProperties: false,
    required: [kind.kind],
    properties: {
      [kind.kind]: {
        ...fragment,
        description: kind.description,
        properties: {
          name: {
            description: 'Layer name, unique in the model; default: the kind in snake_case and a per-kind counter, e.g. conv2d_1',
            type: 'string',
            pattern: LAYER_NAME_PATTERN,
            maxLength: 64,
          },
          ...properties,
        },
      },
    },
  };
}

function stageBranch(kind: string, description: string, properties: JsonSchema, required: string[]): JsonSchema {
  return {
    description,
    type: 'object',
    additionalProperties: false,
    required: [kind],
    properties: {
      [kind]: {
        description,
        type: 'object',
        additionalProperties: false,
        ...(required.length ? { required } : {}),
        properties,
      },
    },
  };
}
