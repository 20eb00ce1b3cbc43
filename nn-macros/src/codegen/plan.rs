//! Where each layer reads and writes, where its parameters and buffers live, and where the stages of a training
//! pass through whole-batch layers begin.

use crate::check::Checked;
use std::ops::Range;

/// The layout of a network's passes.
pub struct Plan {
    /// The layers that run, in order (everything but `Flatten`).
    pub steps: Vec<Step>,
    /// Per checked layer: where its parameters start.
    pub params_at: Vec<usize>,
    /// Per checked layer: where its buffers start.
    pub buffers_at: Vec<usize>,
    /// Values per row of each activation buffer (buffer `k ≥ 1` is `activations[k - 1]`), and whether it holds a
    /// sequence (a row per step) rather than a row per sample.
    pub activations: Vec<(usize, bool)>,
    /// Whether the input (buffer 0) is a sequence.
    pub sequence_input: bool,
    /// Largest width, per row, of any layer's input or output.
    pub width: usize,
    /// The buffer holding the output (0: the input itself).
    pub output_buffer: usize,
    pub total_params: usize,
    pub total_buffers: usize,
    /// The whole-batch layers, as indices into `steps`.
    pub stages: Vec<usize>,
}

/// One running layer.
pub struct Step {
    /// Index into the checked layers.
    pub layer: usize,
    /// Buffer read (0: the chunk's input) and buffer written.
    pub from: usize,
    pub to: usize,
    /// Values per row in and out.
    pub in_len: usize,
    pub out_len: usize,
    pub params: Range<usize>,
    pub buffers: Range<usize>,
    /// Whole-batch layers before this one: the stage its forward pass runs in (a whole-batch layer `j`'s
    /// statistics end stage `j` and its normalisation starts stage `j + 1`).
    pub stage: usize,
    /// For a whole-batch layer, its index among them.
    pub whole_batch: Option<usize>,
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
    /// Index of its layer among the checked layers.
    pub layer: usize,
}

impl Plan {
    /// Every parameter tensor in order, then every buffer tensor.
    pub fn tensors(&self, checked: &Checked) -> Vec<NamedTensor> {
        let mut table = Vec::new();
        for buffer in [false, true] {
            for (index, l) in checked.layers.iter().enumerate() {
                let mut offset = if buffer { self.buffers_at[index] } else { self.params_at[index] };
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

    pub fn new(checked: &Checked) -> Self {
        let mut plan = Plan {
            steps: Vec::new(),
            params_at: Vec::new(),
            buffers_at: Vec::new(),
            activations: Vec::new(),
            width: checked.input.len(),
            sequence_input: checked.input.is_sequence(),
            output_buffer: 0,
            total_params: 0,
            total_buffers: 0,
            stages: Vec::new(),
        };
        let (mut current, mut params, mut buffers) = (0, 0, 0);
        for (index, l) in checked.layers.iter().enumerate() {
            plan.params_at.push(params);
            plan.buffers_at.push(buffers);
            let (p, b) = (l.layer.params(), l.layer.buffer_len());
            plan.width = plan.width.max(l.output.len());
            if !l.layer.aliases_input() {
                plan.activations.push((l.output.len(), l.output.is_sequence()));
                let to = plan.activations.len();
                let whole_batch = l.layer.whole_batch().then_some(plan.stages.len());
                if whole_batch.is_some() {
                    plan.stages.push(plan.steps.len());
                }
                plan.steps.push(Step {
                    layer: index,
                    from: current,
                    to,
                    in_len: l.input.len(),
                    out_len: l.output.len(),
                    params: params..params + p,
                    buffers: buffers..buffers + b,
                    stage: plan.stages.len() - usize::from(whole_batch.is_some()),
                    whole_batch,
                });
                current = to;
            }
            params += p;
            buffers += b;
        }
        plan.output_buffer = current;
        plan.total_params = params;
        plan.total_buffers = buffers;
        plan
    }

    /// Whether buffer `k` (0: the input) holds a row per time step.
    pub fn is_sequence(&self, k: usize) -> bool {
        match k {
            0 => self.sequence_input,
            k => self.activations[k - 1].1,
        }
    }

    /// Per stage of a staged backward pass: whether the gradient buffers start swapped. Backward swaps them once
    /// per layer, in the stage where the layer computes its input gradient — which, for whole-batch layer `j`,
    /// is stage `j`, and for every other layer its forward stage.
    pub fn flips(&self) -> Vec<bool> {
        (0..=self.stages.len()).map(|stage| self.steps.iter().filter(|s| s.stage > stage).count() % 2 == 1).collect()
    }
}
