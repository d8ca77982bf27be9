/**
 * Turns a data selection and an example order into batches: first on the host (plain typed
 * arrays, which can be handed to a gradient worker), then as tensors on the current backend.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { LossName } from '../experiment.js';
import { fillBatch, oneHot, sparseLabels } from '../data/batch.js';
import type { Selection } from '../data/select.js';

type Tf = typeof tfjs;

export interface ImageSource {
  images: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/** One batch as typed arrays: pixels in [0, 1], targets in the loss' form, and the classes. */
export interface HostBatch {
  x: Float32Array;
  xShape: [number, number, number, number];
  /** One-hot [n, k] for categoricalCrossentropy; class indices [n] for the sparse loss. */
  y: Float32Array;
  yShape: number[];
  labels: Int32Array;
  size: number;
}

export interface Batch {
  x: tfjs.Tensor4D;
  y: tfjs.Tensor;
  labels: Int32Array;
  size: number;
}

export function toTensors(tf: Tf, h: HostBatch): Batch {
  return { x: tf.tensor4d(h.x, h.xShape), y: tf.tensor(h.y, h.yShape), labels: h.labels, size: h.size };
}

/** Rows [from, to) of a host batch, as a batch of its own (copies, so it can be transferred). */
export function sliceHost(h: HostBatch, from: number, to: number): HostBatch {
  const size = to - from;
  const px = h.x.length / h.size;
  const k = h.y.length / h.size;
  return {
    x: h.x.slice(from * px, to * px),
    xShape: [size, h.xShape[1], h.xShape[2], h.xShape[3]],
    y: h.y.slice(from * k, to * k),
    yShape: [size, ...h.yShape.slice(1)],
    labels: h.labels.slice(from, to),
    size,
  };
}

export class Batcher {
  private readonly pixels: number;

  constructor(
    private readonly source: ImageSource,
    private readonly selection: Selection,
    readonly loss: LossName,
  ) {
    this.pixels = source.height * source.width * source.channels;
  }

  get count(): number {
    return this.selection.indices.length;
  }

  /** Examples order[start .. start+size) of the selection, as host arrays. */
  host(order: Uint32Array, start: number, size: number): HostBatch {
    const { source, selection } = this;
    const k = selection.numClasses;
    const x = new Float32Array(size * this.pixels);
    fillBatch(source.images, this.pixels, selection.indices, order, start, size, x);
    const labels = new Int32Array(size);
    sparseLabels(selection.labels, order, start, size, labels);
    let y: Float32Array;
    let yShape: number[];
    if (this.loss === 'categoricalCrossentropy') {
      y = new Float32Array(size * k);
      oneHot(selection.labels, order, start, size, k, y);
      yShape = [size, k];
    } else {
      y = Float32Array.from(labels);
      yShape = [size];
    }
    return { x, xShape: [size, source.height, source.width, source.channels], y, yShape, labels, size };
  }

}
