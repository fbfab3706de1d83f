/**
 * A small builder of ONNX graphs (the Open Neural Network Exchange format, onnx.ai), written
 * with the protobuf definition the `onnx-proto` package maintains: nodes, constant
 * initializers, typed inputs and outputs, one model of one graph. Every stored model's scoring
 * function becomes one such graph (models/onnx/*.ts), run by onnxruntime-node.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type DataType = 'float' | 'double' | 'int64' | 'string' | 'bool' | 'int32';

const TYPES: Record<DataType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  double: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  string: onnx.TensorProto.DataType.STRING,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** The opsets the graphs use: the default domain and ai.onnx.ml (LabelEncoder). */
export const OPSET = 17;
export const ML_OPSET = 2;

/** An attribute value: a number is an int unless it has a fraction, `{ f }` forces a float. */
export type Attr = number | { f: number } | string | number[] | { floats: number[] } | string[];

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: A.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return { name, type: A.STRINGS, strings: (v as string[]).map((x) => Buffer.from(x)) };
    return { name, type: A.INTS, ints: v as number[] };
  }
  if ('floats' in v) return { name, type: A.FLOATS, floats: v.floats };
  return { name, type: A.FLOAT, f: v.f };
}

/** Builds one graph; names are made unique with a counter, so callers pass readable stems. */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inits: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly consts = new Map<string, string>();
  private n = 0;

  constructor(readonly name: string) {}

  private fresh(stem: string): string {
    return `${stem}_${++this.n}`;
  }

  /** A graph input of `type`, one row per visitor ([N] or [N, width]), or of the given `shape` (a string names a free dimension). */
  input(name: string, type: DataType, width?: number | Array<string | number>): string {
    this.inputs.push(valueInfo(name, type, Array.isArray(width) ? width : width === undefined ? ['N'] : ['N', width]));
    return name;
  }

  /** Marks `value` as a graph output named `name` (an Identity node when the names differ), one value per row unless `shape` says otherwise. */
  output(value: string, name: string, type: DataType, shape: Array<string | number> = ['N']): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: this.fresh('out') });
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** A constant tensor (an initializer); equal small constants are shared. */
  tensor(stem: string, type: DataType, dims: number[], values: ArrayLike<number> | bigint[] | string[]): string {
    const small = values.length <= 16 ? `${type}:${dims.join('x')}:${Array.from(values as ArrayLike<unknown>).join(',')}` : undefined;
    if (small && this.consts.has(small)) return this.consts.get(small)!;
    const name = this.fresh(stem);
    const t: onnxProto.onnx.ITensorProto = { name, dims, dataType: TYPES[type] };
    if (type === 'string') t.stringData = (values as string[]).map((s) => Buffer.from(s));
    else t.rawData = rawBytes(type, values);
    this.inits.push(t);
    if (small) this.consts.set(small, name);
    return name;
  }

  /** A scalar constant (shape []) of `type`. */
  scalar(type: DataType, v: number): string {
    return this.tensor('c', type, [], type === 'int64' ? [BigInt(v)] : [v]);
  }

  /** A node of `op` on `inputs` with `attrs`; returns its (first) output's name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1, domain?: string): string {
    return this.nodeOutputs(op, inputs, attrs, outputs, domain)[0];
  }

  /** A node of `op` with `outputs` outputs (a Split); returns every output's name. */
  nodeOutputs(op: string, inputs: string[], attrs: Record<string, Attr>, outputs: number, domain?: string): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({ opType: op, input: inputs, output: out, name: this.fresh(`n_${op}`), attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)), ...(domain && { domain }) });
    return out;
  }

  /** The serialized model (ModelProto bytes) of this graph, with `metadata` as its metadata_props. */
  toBytes(metadata: Record<string, string> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'audience-engine',
      opsetImport: [
        { domain: '', version: OPSET },
        { domain: 'ai.onnx.ml', version: ML_OPSET },
      ],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: { name: this.name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: DataType, shape: Array<string | number>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: TYPES[type], shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

function rawBytes(type: DataType, values: ArrayLike<number> | bigint[] | string[]): Uint8Array {
  const v = values as ArrayLike<number>;
  const arr =
    type === 'float' ? Float32Array.from(v) : type === 'double' ? Float64Array.from(v) : type === 'int32' ? Int32Array.from(v) : type === 'bool' ? Uint8Array.from(v) : BigInt64Array.from(values as bigint[], (x) => BigInt(x));
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** One part of a side-by-side model: a model's bytes and the prefix its inner names take. */
export interface ModelPart {
  prefix: string;
  model: Uint8Array;
}

/**
 * Several models as one (ModelProto bytes), side by side: each part's inputs, nodes, inner
 * values and initializers renamed with its prefix (input `xT` of part `m0/` is fed as `m0/xT`),
 * its outputs kept as they are. One session run then scores every part, where separate
 * sessions would cost one run's fixed overhead each. onnx's `compose.merge_models`
 * (onnx/compose.py) joins two models by connecting them; these parts share nothing.
 * @throws Error when two parts have an output of the same name, their opsets differ, or a part
 * has a subgraph (If, Loop, Scan: the builder writes none).
 */
export function sideBySide(parts: ModelPart[]): Uint8Array {
  const models = parts.map((p) => onnx.ModelProto.decode(p.model));
  const graph = { name: 'side-by-side', node: [] as onnxProto.onnx.INodeProto[], initializer: [] as onnxProto.onnx.ITensorProto[], input: [] as onnxProto.onnx.IValueInfoProto[], output: [] as onnxProto.onnx.IValueInfoProto[] };
  const written = new Set<string>();
  for (const [k, m] of models.entries()) {
    const g = m.graph ?? {};
    const own = new Set((g.output ?? []).map((o) => o.name ?? ''));
    for (const name of own) if (written.has(name)) throw new Error(`two models write the output ${name}`);
    for (const name of own) written.add(name);
    if (JSON.stringify(m.opsetImport) !== JSON.stringify(models[0].opsetImport)) throw new Error('the models use different opsets');
    const prefix = parts[k].prefix;
    const rename = (v: string) => (v === '' || own.has(v) ? v : prefix + v);
    for (const n of g.node ?? []) {
      if ((n.attribute ?? []).some((a) => a.g || a.graphs?.length)) throw new Error(`node ${n.name} has a subgraph`);
      graph.node.push({ ...n, name: prefix + (n.name ?? ''), input: (n.input ?? []).map(rename), output: (n.output ?? []).map(rename) });
    }
    for (const t of g.initializer ?? []) graph.initializer.push({ ...t, name: rename(t.name ?? '') });
    for (const i of g.input ?? []) graph.input.push({ ...i, name: rename(i.name ?? '') });
    graph.output.push(...(g.output ?? []));
  }
  const { irVersion, producerName, opsetImport } = models[0];
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion, producerName, opsetImport, graph })).finish();
}
