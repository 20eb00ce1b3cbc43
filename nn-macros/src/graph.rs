//! Stage 3: a checked network lowered to the one representation every generator reads — values and the steps
//! between them, the layers with everything derived from them once (runtime type, descriptor constant, parameter
//! and buffer ranges, multiply-adds), the plan of the backward pass's gradient buffers, and the tree of the
//! generated structs' fields.
//!
//! A value is the network's input or what a step writes: a layer's output, the sum of a residual block, the
//! concatenation of branches. A layer that only sees its input with another shape (`Flatten`, `Identity`,
//! `Unflatten`) writes no value: its output is its input's value. Steps are in execution order; a value read by
//! several steps (a block's input) gets the sum of their gradients (see `backward`).

mod backward;
mod fields;

pub use backward::{Contribution, Grad, Slots, Target};
pub use fields::{FieldValue, Fields, StructType};

use crate::check::{BlockNode, BlockNodeKind, LayerNode, Node, Tree};
use crate::layers::{runtime_path, Layer};
use crate::shape::Shape;
use proc_macro2::{Ident, TokenStream};
use quote::format_ident;
use std::ops::Range;
use syn::ext::IdentExt;

/// A network lowered to values and steps.
pub struct Graph {
    pub input: Shape,
    /// The network's output shape.
    pub output_shape: Shape,
    /// Every value; 0 is the input.
    pub values: Vec<Value>,
    /// Every layer, in declaration order (the copies of a `Repeat` one after the other).
    pub layers: Vec<GraphLayer>,
    /// What runs, in order.
    pub steps: Vec<Step>,
    /// The network as exporters see it: every layer (those that only reshape included) and merge, in order.
    pub nodes: Vec<ExportNode>,
    /// The value the network outputs.
    pub output: usize,
    /// Activation buffers `k ≥ 1` (buffer 0 is the chunk's input): values per row, and whether a row is a time
    /// step (else a sample).
    pub activations: Vec<(usize, bool)>,
    pub total_params: usize,
    pub total_buffers: usize,
    /// The whole-batch layers, as indices into `steps`, in order.
    pub stages: Vec<usize>,
    /// The most values per row of any value.
    pub width: usize,
    /// The network's own fields, and the struct types of its named blocks.
    pub fields: Fields,
    pub types: Vec<StructType>,
    /// The backward pass: where each gradient lives, step by step.
    pub slots: Slots,
}

/// What a row of a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// A sample.
    Sample,
    /// A time step of the network's input sequence (as many per sample as the chunk's steps).
    Step,
    /// One of the given number of steps per sample of a sequence made inside the network (`ToSeq`'s positions).
    Fixed(usize),
}

impl Rows {
    /// The rows of a value of `shape` in a network whose input is a sequence or not.
    pub fn of(shape: &Shape, sequence_input: bool) -> Rows {
        match shape {
            s if !s.is_sequence() => Rows::Sample,
            _ if sequence_input => Rows::Step,
            Shape::Sequence { steps: Some(t), .. } => Rows::Fixed(*t),
            _ => Rows::Step,
        }
    }

    /// Rows per sample when they are fixed (1 for a sample, `t` for `Fixed(t)`); `None` for the input's steps.
    pub fn fixed(self) -> Option<usize> {
        match self {
            Rows::Sample => Some(1),
            Rows::Step => None,
            Rows::Fixed(t) => Some(t),
        }
    }
}

/// A value between steps.
pub struct Value {
    /// Values per row.
    pub width: usize,
    /// What a row is.
    pub rows: Rows,
    /// The activation buffer holding it (0: the chunk's input).
    pub buffer: usize,
    /// Whether its gradient is needed: by a layer with parameters that made it (or a value it was made from),
    /// or only when the gradient with respect to the network's input is asked for.
    pub grad: Grad,
}

/// A layer of the network, with what every generator needs of it.
pub struct GraphLayer {
    /// The prefix of its tensor names (`layer2.conv1`).
    pub prefix: String,
    /// How its field is reached from the network (`layer1[0].conv1`), or its would-be field for a layer
    /// without one.
    pub path: String,
    /// Whether it has a field (named, or holding parameters or buffers).
    pub has_field: bool,
    /// As declared.
    pub declaration: String,
    /// Its random stream (its place among all layers).
    pub stream: usize,
    pub layer: Box<dyn Layer>,
    /// Its runtime type: `::nn::__private::layers::Linear<784, 10, true>` (through the facade as the user names it).
    pub ty: TokenStream,
    /// The associated constant holding its descriptor: `__NN_LAYER_3`.
    pub konst: Ident,
    pub params: Range<usize>,
    pub buffers: Range<usize>,
    /// The value it reads and the value it writes (the same for a layer that aliases its input).
    pub input: usize,
    pub output: usize,
    pub output_shape: Shape,
    /// How deep in blocks it stands (0: the network's own chain), and the blocks it opens before it (their
    /// declarations, outermost first), for summaries.
    pub depth: usize,
    pub opens: Vec<String>,
}

/// One step of the passes.
pub enum Step {
    /// Layer `layer` (an index into `Graph::layers`), the `running`-th layer that runs (its saved values and
    /// state are the pass's `saved[running]`, `states[running]`); `stage` whole-batch layers come before it, and
    /// it is the `whole_batch`-th whole-batch layer itself if it is one.
    Layer { layer: usize, running: usize, stage: usize, whole_batch: Option<usize> },
    /// `out = a + b` (a residual block).
    Add { a: usize, b: usize, out: usize, stage: usize },
    /// `out` = the `parts` side by side in each row (a concatenation).
    Concat { parts: Vec<usize>, out: usize, stage: usize },
}

impl Step {
    /// Whole-batch layers before the step: the stage its forward pass runs in.
    pub fn stage(&self) -> usize {
        match self {
            Step::Layer { stage, .. } | Step::Add { stage, .. } | Step::Concat { stage, .. } => *stage,
        }
    }

    /// The values the step reads, in order.
    pub fn inputs(&self, graph: &Graph) -> Vec<usize> {
        match self {
            Step::Layer { layer, .. } => vec![graph.layers[*layer].input],
            Step::Add { a, b, .. } => vec![*a, *b],
            Step::Concat { parts, .. } => parts.clone(),
        }
    }

    /// The value the step writes.
    pub fn output(&self, graph: &Graph) -> usize {
        match self {
            Step::Layer { layer, .. } => graph.layers[*layer].output,
            Step::Add { out, .. } | Step::Concat { out, .. } => *out,
        }
    }
}

/// A node of the exporters' graph (the runtime's `Node`): node `i`'s output is numbered `i + 1`, the input 0.
pub enum ExportNode {
    Layer { layer: usize, input: usize },
    Add { a: usize, b: usize },
    Concat { parts: Vec<usize> },
}

/// A parameter or buffer tensor of the network, where it lives.
pub struct NamedTensor {
    /// `state_dict` name: `{layer prefix}.{suffix}`.
    pub name: String,
    pub shape: Vec<usize>,
    /// Whether it is a buffer (else a parameter).
    pub buffer: bool,
    /// Its start in the parameter (or buffer) array.
    pub offset: usize,
    /// Index of its layer in `Graph::layers`.
    pub layer: usize,
}

impl Graph {
    /// Lowers a checked network (every layer checked: `None` otherwise).
    pub fn new(tree: Tree) -> Option<Self> {
        let input = tree.input?;
        let mut lower = Lower {
            values: vec![Value {
                width: input.len(),
                rows: Rows::of(&input, input.is_sequence()),
                buffer: 0,
                grad: Grad::ForInput,
            }],
            sequence_input: input.is_sequence(),
            layers: Vec::new(),
            steps: Vec::new(),
            nodes: Vec::new(),
            activations: Vec::new(),
            params: 0,
            buffers: 0,
            stages: Vec::new(),
            running: 0,
            opens: Vec::new(),
            types: Vec::new(),
        };
        let (output, fields) = lower.chain(tree.chain, At { value: 0, node: 0 }, 0, "")?;
        // A gradient slot holds a chunk's rows of the widest value; a sequence made inside the network has several
        // rows per sample, counted into its width here.
        let width = lower.values.iter().map(|v| v.width * v.rows.fixed().unwrap_or(1)).max().unwrap_or(0);
        let mut graph = Graph {
            input,
            output_shape: tree.output,
            values: lower.values,
            layers: lower.layers,
            steps: lower.steps,
            nodes: lower.nodes,
            output: output.value,
            activations: lower.activations,
            total_params: lower.params,
            total_buffers: lower.buffers,
            stages: lower.stages,
            width,
            fields,
            types: lower.types,
            slots: Slots::default(),
        };
        graph.slots = Slots::plan(&graph);
        Some(graph)
    }

    /// Every parameter tensor in order, then every buffer tensor.
    pub fn tensors(&self) -> Vec<NamedTensor> {
        let mut table = Vec::new();
        for buffer in [false, true] {
            for (index, l) in self.layers.iter().enumerate() {
                let mut offset = if buffer { l.buffers.start } else { l.params.start };
                for (suffix, shape) in if buffer { l.layer.buffers() } else { l.layer.tensors() } {
                    let len: usize = shape.iter().product();
                    table.push(NamedTensor {
                        name: format!("{}.{suffix}", l.prefix),
                        shape,
                        buffer,
                        offset,
                        layer: index,
                    });
                    offset += len;
                }
            }
        }
        table
    }

    /// Rows per sample of value `v` in a chunk of one sample: the input's steps if it is a sequence of fixed
    /// length (1 per step of any length), else 1.
    pub fn rows_per_sample(&self, v: usize) -> usize {
        match (&self.input, self.values[v].rows) {
            (Shape::Sequence { steps: Some(t), .. } | Shape::Tokens { steps: Some(Some(t)), .. }, Rows::Step) => *t,
            (_, rows) => rows.fixed().unwrap_or(1),
        }
    }

    /// The layer whose positions run out first (a table of positions, a key/value cache): its limit, its offset
    /// in the network's state, and how messages name it (`pos: PositionalEmbedding<9, 4>`).
    pub fn position_limit(&self) -> Option<(usize, usize, String)> {
        let mut state = 0;
        let mut tightest: Option<(usize, usize, String)> = None;
        for (_, l) in self.running() {
            if let Some(limit) = l.layer.position_limit() {
                if tightest.as_ref().is_none_or(|(t, _, _)| limit < *t) {
                    let name = l.path.rsplit('.').next().unwrap_or_default();
                    let shown = if l.has_field && !name.is_empty() && !name.ends_with(']') {
                        format!("{}: {}", l.prefix, l.declaration)
                    } else {
                        l.declaration.clone()
                    };
                    tightest = Some((limit, state, shown));
                }
            }
            state += l.layer.state();
        }
        tightest
    }

    /// The layers that run, with their running index, in step order.
    pub fn running(&self) -> impl Iterator<Item = (usize, &GraphLayer)> + '_ {
        self.steps.iter().filter_map(|s| match s {
            Step::Layer { layer, running, .. } => Some((*running, &self.layers[*layer])),
            _ => None,
        })
    }
}

/// The state of lowering.
struct Lower {
    values: Vec<Value>,
    layers: Vec<GraphLayer>,
    steps: Vec<Step>,
    nodes: Vec<ExportNode>,
    activations: Vec<(usize, bool)>,
    params: usize,
    buffers: usize,
    stages: Vec<usize>,
    running: usize,
    /// Blocks opened since the last layer, for the next layer's summary row.
    opens: Vec<String>,
    /// Whether the network's input is a sequence.
    sequence_input: bool,
    types: Vec<StructType>,
}

/// A place in the network: the value there, and the exporters' node whose output it is.
#[derive(Clone, Copy)]
struct At {
    value: usize,
    node: usize,
}

impl Lower {
    /// A new value of `shape`'s rows in a new activation buffer, whose gradient is needed as `grad` says.
    fn value(&mut self, shape: &Shape, grad: Grad) -> usize {
        let rows = Rows::of(shape, self.sequence_input);
        // A buffer holds a chunk's samples' rows: its values per sample when they are fixed.
        self.activations.push((shape.len() * rows.fixed().unwrap_or(1), rows == Rows::Step));
        let buffer = self.activations.len();
        self.values.push(Value { width: shape.len(), rows, buffer, grad });
        self.values.len() - 1
    }

    /// Adds an exporters' node; its output's number.
    fn node(&mut self, node: ExportNode) -> usize {
        self.nodes.push(node);
        self.nodes.len()
    }

    /// Lowers `chain` from `x` at block depth `depth`: where it ends and the fields it gives the struct it stands
    /// in. `path` is how that struct is reached from the network (`layer2.`, `blocks[1].`, or empty).
    fn chain(&mut self, chain: Vec<Node>, mut x: At, depth: usize, path: &str) -> Option<(At, Fields)> {
        let mut fields = Fields::default();
        for node in chain {
            x = match node {
                Node::Layer(l) => self.layer(l, x, depth, path, &mut fields)?,
                Node::Block(b) => self.block(b, x, depth, path, &mut fields)?,
            };
        }
        Some((x, fields))
    }

    fn layer(&mut self, node: LayerNode, x: At, depth: usize, path: &str, fields: &mut Fields) -> Option<At> {
        let LayerNode { field, has_field, prefix, declaration, stream, layer, output: shape, .. } = node;
        let layer = layer?;
        let (p, b) = (layer.params(), layer.buffer_len());
        let index = self.layers.len();
        let value = if layer.aliases_input() {
            x.value
        } else {
            let grad = if p > 0 { Grad::Always } else { self.values[x.value].grad };
            let out = self.value(&shape, grad);
            let stage = self.stages.len();
            let whole_batch = layer.whole_batch().then_some(stage);
            if whole_batch.is_some() {
                self.stages.push(self.steps.len());
            }
            self.steps.push(Step::Layer { layer: index, running: self.running, stage, whole_batch });
            self.running += 1;
            out
        };
        let node = self.node(ExportNode::Layer { layer: index, input: x.node });
        let path = format!("{path}{field}");
        if has_field {
            fields.push(field, FieldValue::Layer(index));
        }
        self.layers.push(GraphLayer {
            prefix,
            path,
            has_field,
            declaration,
            stream,
            ty: runtime_path(&*layer),
            konst: format_ident!("__NN_LAYER_{}", stream),
            params: self.params..self.params + p,
            buffers: self.buffers..self.buffers + b,
            layer,
            input: x.value,
            output: value,
            output_shape: shape,
            depth,
            opens: std::mem::take(&mut self.opens),
        });
        self.params += p;
        self.buffers += b;
        Some(At { value, node })
    }

    fn block(&mut self, node: BlockNode, x: At, depth: usize, path: &str, fields: &mut Fields) -> Option<At> {
        let BlockNode { named, declaration, kind, output: shape, .. } = node;
        let title = match &named {
            Some((field, _)) => format!("{}: {declaration}", field.unraw()),
            None => declaration,
        };
        let within = match &named {
            Some((field, _)) => format!("{path}{field}."),
            None => path.to_string(),
        };
        let mut own = Fields::default();
        let out = match kind {
            BlockNodeKind::Residual { body, shortcut } => {
                self.opens.push(title.clone());
                let (body_out, body_fields) = self.chain(body, x, depth + 1, &within)?;
                own.extend(body_fields);
                let other = match shortcut {
                    Some((field, ty, chain)) => {
                        self.opens.push("shortcut".into());
                        let (out, shortcut_fields) = self.chain(chain, x, depth + 1, &format!("{within}{field}."))?;
                        let doc = format!("The layers of the shortcut of `{title}`.");
                        let ty = self.struct_type(ty, doc.clone());
                        own.push(field, FieldValue::Struct { ty, fields: shortcut_fields, doc });
                        out
                    }
                    None => x,
                };
                let grad = self.values[body_out.value].grad.max(self.values[other.value].grad);
                let value = self.value(&shape, grad);
                let stage = self.stages.len();
                self.steps.push(Step::Add { a: body_out.value, b: other.value, out: value, stage });
                At { value, node: self.node(ExportNode::Add { a: body_out.node, b: other.node }) }
            }
            BlockNodeKind::Concat { branches } => {
                self.opens.push(title.clone());
                let mut parts = Vec::new();
                for branch in branches {
                    let (out, branch_fields) = self.chain(branch, x, depth + 1, &within)?;
                    own.extend(branch_fields);
                    parts.push(out);
                }
                let grad = parts.iter().map(|p| self.values[p.value].grad).max().unwrap_or(Grad::ForInput);
                let value = self.value(&shape, grad);
                let stage = self.stages.len();
                self.steps.push(Step::Concat { parts: parts.iter().map(|p| p.value).collect(), out: value, stage });
                At { value, node: self.node(ExportNode::Concat { parts: parts.iter().map(|p| p.node).collect() }) }
            }
            BlockNodeKind::Repeat { copies } => {
                let (mut y, mut all) = (x, Vec::new());
                for (c, copy) in copies.into_iter().enumerate() {
                    self.opens.push(format!("{title} — copy {c}"));
                    let copy_path = format!("{}[{c}].", within.trim_end_matches('.'));
                    let (out, copy_fields) = self.chain(copy, y, depth + 1, &copy_path)?;
                    all.push(copy_fields);
                    y = out;
                }
                let (field, ty) = named?;
                let ty = self.struct_type(ty, format!("The layers of one copy of `{title}`."));
                let doc = format!("`{title}`: its {} copies, each with its own weights.", all.len());
                fields.push(field, FieldValue::Array { ty, copies: all, doc });
                return Some(y);
            }
        };
        match named {
            Some((field, ty)) => {
                let ty = self.struct_type(ty, format!("The layers of `{title}`."));
                fields.push(field, FieldValue::Struct { ty, fields: own, doc: format!("`{title}`.") });
            }
            None => fields.extend(own),
        }
        Some(out)
    }
}
