/**
 * A sweep of experiments for `npm run bench:check`: they vary the way a hyper-parameter sweep
 * does (filters, kernels, padding, pooling, dropout, batch norm, classes, optimizers, stages),
 * so a benchmark over them measures checking different files, not one file a hundred times.
 */

/** The i-th experiment of the sweep: valid by construction (`cnnc check` must pass them all). */
export function sweepConfig(i: number): string {
  const pick = <T>(xs: readonly T[], salt: number): T => xs[(i * 7 + salt * 13 + Math.floor(i / xs.length)) % xs.length];
  const classes = pick([null, [0, 1, 2, 3, 4], [3, 5, 8], [1, 7]], 1);
  const units = classes === null ? 10 : classes.length;
  const kernel = pick([3, 5], 2);
  const padding = pick(['same', 'valid'], 3);
  const pool = pick(['maxPooling2d', 'averagePooling2d'], 4);
  const optimizer = pick([
    '{name: adam, learningRate: 0.001}',
    '{name: sgd, learningRate: 0.01, momentum: 0.9}',
    '{name: rmsprop, learningRate: 0.0005}',
  ], 5);
  const extras = [
    ...(i % 3 === 0 ? ['  - batchNormalization: {}'] : []),
    ...(i % 4 === 1 ? [`  - dropout: {rate: 0.${(i % 5) + 1}}`] : []),
  ];
  return [
    `# sweep ${i}: ${kernel}x${kernel} ${padding}, ${pool}`,
    `name: sweep-${i}`,
    `seed: ${i}`,
    'data:',
    '  dataset: mnist',
    ...(classes ? [`  classes: [${classes.join(', ')}]`] : []),
    `  limit: {train: ${1000 + i * 10}, test: 500}`,
    'input: [28, 28, 1]',
    'layers:',
    `  - conv2d: {filters: ${pick([8, 16, 32, 48], 6)}, kernelSize: ${kernel}, padding: ${padding}, activation: relu}`,
    `  - ${pool}: {poolSize: 2}`,
    ...extras,
    `  - conv2d: {filters: ${pick([16, 32, 64], 7)}, kernelSize: 3, padding: ${padding}, activation: relu}`,
    `  - ${pool}: {poolSize: 2}`,
    '  - flatten: {}',
    `  - dense: {units: ${pick([64, 128, 256], 8)}, activation: relu}`,
    `  - dense: {units: ${units}, activation: softmax}`,
    'stages:',
    '  - train:',
    `      epochs: ${1 + (i % 5)}`,
    `      batchSize: ${pick([32, 64, 128], 9)}`,
    `      optimizer: ${optimizer}`,
    '      loss: categoricalCrossentropy',
    ...(i % 2 === 0 ? ['      validationSplit: 0.1'] : []),
    '  - evaluate: {}',
    ...(i % 2 === 1 ? ['  - finetune:', `      freeze: ":${2 + (i % 3)}"`, '      epochs: 1', `      optimizer: ${optimizer}`, '  - evaluate: {}'] : []),
    '',
  ].join('\n');
}
