/**
 * Saves a model in the tfjs layers format (`model.json` + `weights.bin`), loadable with
 * `tf.loadLayersModel` — without tfjs-node's `file://` handler, which may not be installed.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Tf = typeof tfjs;

export async function saveModel(tf: Tf, model: tfjs.LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const bytes = weightData === undefined ? new Uint8Array(0)
        : Array.isArray(weightData) ? new Uint8Array(tf.io.concatenateArrayBuffers(weightData)) : new Uint8Array(weightData);
      writeFileSync(join(dir, 'weights.bin'), bytes);
      const json = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json) + '\n');
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.length } };
    }),
  );
}

/** Loads what saveModel wrote, through tf.loadLayersModel. */
export async function loadModel(tf: Tf, dir: string): Promise<tfjs.LayersModel> {
  const { readFileSync } = await import('node:fs');
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}
