//! The tables of a [`Chain`](super::Chain), built while the compiler evaluates its constants: its parts' layers,
//! tensors, whole-batch stages and graph nodes one after the other, with names prefixed and offsets shifted.
//!
//! Stable Rust cannot size an array by the sum of two generic lengths, so each table is a fixed-capacity array
//! and its length; a chain whose parts hold more than a table's capacity fails to compile with a message saying
//! so. Names are built as bytes in one table and borrowed as `&'static str` by the next.

use crate::net::{LayerInfo, Node, Plan, Stage, TensorInfo};

/// Most tensors (parameters, or buffers) a chain's parts hold together.
pub const TENSORS: usize = 512;
/// Most layers a chain's parts hold together.
pub const LAYERS: usize = 256;
/// Most whole-batch layers (batch norms) a chain's parts hold together.
pub const STAGES: usize = 64;
/// Most graph nodes, and concatenated branches, a chain's parts hold together.
pub const NODES: usize = 512;
/// Longest name a chain gives a tensor or a layer.
pub const NAME: usize = 112;

/// A fixed-capacity table and how much of it is used.
pub struct Table<T, const C: usize> {
    pub items: [T; C],
    pub len: usize,
}

impl<T, const C: usize> Table<T, C> {
    /// The used part, for as long as the table lives.
    pub const fn slice(&'static self) -> &'static [T] {
        self.items.split_at(self.len).0
    }
}

/// Names as bytes: `C` of at most [`NAME`] bytes each.
pub struct Names<const C: usize> {
    bytes: [[u8; NAME]; C],
    lens: [usize; C],
}

impl<const C: usize> Names<C> {
    /// Name `i`.
    const fn get(&'static self, i: usize) -> &'static str {
        match core::str::from_utf8(self.bytes[i].split_at(self.lens[i]).0) {
            Ok(name) => name,
            Err(_) => panic!("a name joined from two names is UTF-8"),
        }
    }
}

/// Which names of a part a [`Names`] table holds.
#[derive(Clone, Copy)]
pub enum Source {
    Tensors(&'static [TensorInfo]),
    LayerNames(&'static [LayerInfo]),
    LayerPrefixes(&'static [LayerInfo]),
}

impl Source {
    const fn len(self) -> usize {
        match self {
            Source::Tensors(t) => t.len(),
            Source::LayerNames(l) | Source::LayerPrefixes(l) => l.len(),
        }
    }

    const fn name(self, i: usize) -> &'static str {
        match self {
            Source::Tensors(t) => t[i].name,
            Source::LayerNames(l) => l[i].name,
            Source::LayerPrefixes(l) => l[i].prefix,
        }
    }
}

/// Whether two strings are equal (`==` on `str` is not `const`).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The prefixes of a chain's two parts: their [`Network::NAME`](crate::Network::NAME)s (`encoder`, `decoder`),
/// or `0` and `1` as `torch.nn.Sequential` numbers its modules when a part has no name (a chain) or both have
/// the same.
pub const fn prefixes(first: &'static str, second: &'static str) -> [&'static str; 2] {
    if first.is_empty() || second.is_empty() || same(first, second) {
        ["0", "1"]
    } else {
        [first, second]
    }
}

/// `prefix.name` for every name of `first` then of `second`.
pub const fn names<const C: usize>(prefixes: [&str; 2], first: Source, second: Source) -> Names<C> {
    let mut out = Names { bytes: [[0; NAME]; C], lens: [0; C] };
    let total = first.len() + second.len();
    if total > C {
        panic!("nn::Chain: its parts have more tensors or layers together than a chain holds (see `nn::Chain`)");
    }
    let mut i = 0;
    while i < total {
        let (prefix, name) = if i < first.len() {
            (prefixes[0].as_bytes(), first.name(i).as_bytes())
        } else {
            (prefixes[1].as_bytes(), second.name(i - first.len()).as_bytes())
        };
        if prefix.len() + 1 + name.len() > NAME {
            panic!("nn::Chain: a tensor or layer name is longer than a chain's names may be (112 bytes)");
        }
        let mut k = 0;
        while k < prefix.len() {
            out.bytes[i][k] = prefix[k];
            k += 1;
        }
        out.bytes[i][k] = b'.';
        let mut m = 0;
        while m < name.len() {
            out.bytes[i][k + 1 + m] = name[m];
            m += 1;
        }
        out.lens[i] = k + 1 + m;
        i += 1;
    }
    out
}

/// The tensors of `first` then `second` under `names`, the second's offsets shifted by `shift` (the first's
/// parameter or buffer count).
pub const fn tensors(
    names: &'static Names<TENSORS>,
    first: &'static [TensorInfo],
    second: &'static [TensorInfo],
    shift: usize,
) -> Table<TensorInfo, TENSORS> {
    let mut items = [TensorInfo { name: "", shape: &[], offset: 0 }; TENSORS];
    let mut i = 0;
    while i < first.len() + second.len() {
        let (t, shift) = if i < first.len() { (first[i], 0) } else { (second[i - first.len()], shift) };
        items[i] = TensorInfo { name: names.get(i), shape: t.shape, offset: t.offset + shift };
        i += 1;
    }
    Table { items, len: first.len() + second.len() }
}

/// The layers of `first` then `second`, named and prefixed from `names` and `prefixes`.
pub const fn layers(
    names: &'static Names<LAYERS>,
    prefixes: &'static Names<LAYERS>,
    first: &'static [LayerInfo],
    second: &'static [LayerInfo],
) -> Table<LayerInfo, LAYERS> {
    let blank = LayerInfo {
        name: "",
        field: false,
        prefix: "",
        depth: 0,
        blocks: &[],
        declaration: "",
        output_shape: &[],
        params: 0,
        forward_macs: 0,
        train_macs: 0,
    };
    let mut items = [blank; LAYERS];
    let mut i = 0;
    while i < first.len() + second.len() {
        let l = if i < first.len() { first[i] } else { second[i - first.len()] };
        items[i] = LayerInfo { name: names.get(i), prefix: prefixes.get(i), ..l };
        i += 1;
    }
    Table { items, len: first.len() + second.len() }
}

/// The whole-batch stages of `first` then `second`, the second's partial sums, statistics and buffers after the
/// first's (`buffers`: the first's buffer count).
pub const fn stages(first: &Plan, second: &Plan, buffers: usize) -> Table<Stage, STAGES> {
    let blank = Stage {
        name: "",
        partials: 0,
        partials_len: 0,
        stats: 0,
        stats_len: 0,
        buffers: 0,
        buffers_len: 0,
        min_batch: 0,
    };
    let (a, b) = (first.stages, second.stages);
    if a.len() + b.len() > STAGES {
        panic!("nn::Chain: its parts have more batch-norm layers together than a chain holds (64)");
    }
    let mut items = [blank; STAGES];
    let mut i = 0;
    while i < a.len() + b.len() {
        items[i] = if i < a.len() {
            a[i]
        } else {
            let s = b[i - a.len()];
            Stage {
                partials: s.partials + first.partials(),
                stats: s.stats + first.stats(),
                buffers: s.buffers + buffers,
                ..s
            }
        };
        i += 1;
    }
    Table { items, len: a.len() + b.len() }
}

/// The branches every concatenation of `first` then `second` reads, renumbered as [`nodes`] numbers them.
pub const fn concat_parts(first: &Plan, second: &Plan) -> Table<usize, NODES> {
    let mut items = [0; NODES];
    let mut len = 0;
    let mut i = 0;
    while i < first.nodes.len() + second.nodes.len() {
        let (node, second_part) = node_of(first, second, i);
        let shift = if second_part { first.nodes.len() } else { 0 };
        if let Node::Concat { parts } = node {
            if len + parts.len() > NODES {
                panic!("nn::Chain: its parts have more graph nodes together than a chain holds (512)");
            }
            let mut k = 0;
            while k < parts.len() {
                items[len] = parts[k] + shift;
                len += 1;
                k += 1;
            }
        }
        i += 1;
    }
    Table { items, len }
}

/// Node `i` of the chain's graph, and whether it is the second part's. The second part's output numbers move by
/// the first part's node count: its input (0) is the first part's output, the last of the first part's nodes, and
/// its node `k`'s output follows them.
const fn node_of(first: &Plan, second: &Plan, i: usize) -> (Node, bool) {
    if i < first.nodes.len() {
        (first.nodes[i], false)
    } else {
        (second.nodes[i - first.nodes.len()], true)
    }
}

/// The graph of `first` then `second` (the second's layers after the first's `layers`), its concatenations
/// reading `concats` (from [`concat_parts`]).
pub const fn nodes(
    concats: &'static Table<usize, NODES>,
    first: &Plan,
    second: &Plan,
    layers: usize,
) -> Table<Node, NODES> {
    if first.nodes.len() + second.nodes.len() > NODES {
        panic!("nn::Chain: its parts have more graph nodes together than a chain holds (512)");
    }
    let mut items = [Node::Add { a: 0, b: 0 }; NODES];
    let mut used = 0;
    let mut i = 0;
    while i < first.nodes.len() + second.nodes.len() {
        let (node, second_part) = node_of(first, second, i);
        let (outputs, moved) = if second_part { (first.nodes.len(), layers) } else { (0, 0) };
        items[i] = match node {
            Node::Layer { layer, input } => Node::Layer { layer: layer + moved, input: input + outputs },
            Node::Add { a, b } => Node::Add { a: a + outputs, b: b + outputs },
            Node::Concat { parts } => {
                let (_, rest) = concats.items.split_at(used);
                used += parts.len();
                Node::Concat { parts: rest.split_at(parts.len()).0 }
            }
        };
        i += 1;
    }
    Table { items, len: first.nodes.len() + second.nodes.len() }
}
