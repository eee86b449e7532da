// Writes a tiny llama-architecture GGUF (v3, 32-byte alignment, little-endian) with random weights that
// real llama.cpp loads and runs: E=64, F=128, 4 heads, 2 layers, context 256, a byte-fallback SPM
// vocabulary with ChatML specials. The output rows of every non-text token are zero, so greedy decoding
// only ever picks printable tokens and never stops early on an end-of-generation token.
import { writeFile } from 'node:fs/promises';

const T = { U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;
const GGML_F32 = 0;
const ALIGN = 32;

type Meta =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'string'; value: string }
  | { type: 'strings'; value: string[] }
  | { type: 'f32s'; value: number[] }
  | { type: 'i32s'; value: number[] };

class Writer {
  chunks: Buffer[] = [];
  size = 0;
  push(b: Buffer) {
    this.chunks.push(b);
    this.size += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad() {
    const rest = this.size % ALIGN;
    if (rest) this.push(Buffer.alloc(ALIGN - rest));
  }
  buffer() {
    return Buffer.concat(this.chunks);
  }
}

function writeMeta(w: Writer, key: string, m: Meta) {
  w.str(key);
  switch (m.type) {
    case 'u32':
      w.u32(T.U32);
      w.u32(m.value);
      break;
    case 'i32':
      w.u32(T.I32);
      w.i32(m.value);
      break;
    case 'f32':
      w.u32(T.F32);
      w.f32(m.value);
      break;
    case 'string':
      w.u32(T.STRING);
      w.str(m.value);
      break;
    case 'strings':
      w.u32(T.ARRAY);
      w.u32(T.STRING);
      w.u64(m.value.length);
      for (const s of m.value) w.str(s);
      break;
    case 'f32s':
      w.u32(T.ARRAY);
      w.u32(T.F32);
      w.u64(m.value.length);
      for (const v of m.value) w.f32(v);
      break;
    case 'i32s':
      w.u32(T.ARRAY);
      w.u32(T.I32);
      w.u64(m.value.length);
      for (const v of m.value) w.i32(v);
      break;
  }
}

/** mulberry32: deterministic weights for a given seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TinyModelOptions {
  seed?: number;
  contextLength?: number;
  /** Leave out a required key (to make a file llama.cpp refuses). */
  omit?: string[];
}

export function tinyVocabulary() {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  tokens.push('<|im_start|>', '<|im_end|>');
  types.push(3, 3);
  tokens.push('▁');
  types.push(1);
  for (let c = 0x21; c <= 0x7e; c++) {
    tokens.push(String.fromCharCode(c));
    types.push(1);
  }
  return { tokens, types };
}

/** The GGUF bytes of a tiny random-weight llama model. */
export function tinyLlamaGguf(options: TinyModelOptions = {}): Buffer {
  const E = 64;
  const F = 128;
  const heads = 4;
  const kvHeads = 4;
  const d = E / heads;
  const layers = 2;
  const { tokens, types } = tinyVocabulary();
  const V = tokens.length;
  const random = rng(options.seed ?? 42);
  const omit = new Set(options.omit ?? []);

  const meta: [string, Meta][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'tiny-test-llama' }],
    ['general.alignment', { type: 'u32', value: ALIGN }],
    ['llama.context_length', { type: 'u32', value: options.contextLength ?? 256 }],
    ['llama.embedding_length', { type: 'u32', value: E }],
    ['llama.block_count', { type: 'u32', value: layers }],
    ['llama.feed_forward_length', { type: 'u32', value: F }],
    ['llama.attention.head_count', { type: 'u32', value: heads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: kvHeads }],
    ['llama.rope.dimension_count', { type: 'u32', value: d }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strings', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: types }],
    ['tokenizer.ggml.scores', { type: 'f32s', value: tokens.map((_, i) => -i) }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.chat_template', { type: 'string', value: CHATML_TEMPLATE }],
  ];
  const kept = meta.filter(([k]) => !omit.has(k));

  const textToken = (row: number) => types[row] === 1;
  const tensors: { name: string; dims: number[]; fill: (i: number) => number }[] = [];
  const rand = () => (random() * 2 - 1) * 0.5;
  tensors.push({ name: 'token_embd.weight', dims: [E, V], fill: rand });
  tensors.push({ name: 'output_norm.weight', dims: [E], fill: () => 1 });
  tensors.push({
    name: 'output.weight',
    dims: [E, V],
    fill: (i) => {
      const value = rand();
      return textToken(Math.floor(i / E)) ? value : 0;
    },
  });
  for (let n = 0; n < layers; n++) {
    tensors.push({ name: `blk.${n}.attn_norm.weight`, dims: [E], fill: () => 1 });
    tensors.push({ name: `blk.${n}.ffn_norm.weight`, dims: [E], fill: () => 1 });
    tensors.push({ name: `blk.${n}.attn_q.weight`, dims: [E, d * heads], fill: rand });
    tensors.push({ name: `blk.${n}.attn_k.weight`, dims: [E, d * kvHeads], fill: rand });
    tensors.push({ name: `blk.${n}.attn_v.weight`, dims: [E, d * kvHeads], fill: rand });
    tensors.push({ name: `blk.${n}.attn_output.weight`, dims: [d * heads, E], fill: rand });
    tensors.push({ name: `blk.${n}.ffn_gate.weight`, dims: [E, F], fill: rand });
    tensors.push({ name: `blk.${n}.ffn_up.weight`, dims: [E, F], fill: rand });
    tensors.push({ name: `blk.${n}.ffn_down.weight`, dims: [F, E], fill: rand });
  }

  const w = new Writer();
  w.push(Buffer.from('GGUF', 'latin1'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(kept.length);
  for (const [k, m] of kept) writeMeta(w, k, m);
  let offset = 0;
  const datas: Buffer[] = [];
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const dim of t.dims) w.u64(dim);
    w.u32(GGML_F32);
    w.u64(offset);
    const count = t.dims.reduce((a, b) => a * b, 1);
    const data = Buffer.alloc(count * 4);
    for (let i = 0; i < count; i++) data.writeFloatLE(t.fill(i), i * 4);
    datas.push(data);
    offset += data.length;
    const rest = offset % ALIGN;
    if (rest) {
      datas.push(Buffer.alloc(ALIGN - rest));
      offset += ALIGN - rest;
    }
  }
  w.pad();
  for (const data of datas) w.push(data);
  return w.buffer();
}

export async function writeTinyLlamaGguf(file: string, options: TinyModelOptions = {}): Promise<Buffer> {
  const bytes = tinyLlamaGguf(options);
  await writeFile(file, bytes);
  return bytes;
}
