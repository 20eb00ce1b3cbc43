//! The backward pass's gradient buffers, planned once. Steps run in reverse; each takes the gradient of its
//! output from a slot and passes a gradient to each value it read. A value read by several steps (a block's
//! input) receives the sum: the first contribution in backward order is written, the others are added (a layer
//! writes its input gradient into a spare slot, which is then added), so the layer contract — "gradients are
//! written, not accumulated" — holds. A slot is taken when a value's first contribution arrives and given back
//! once the step that made the value has read it; a residual sum hands its own slot to its body (no copy).
//! The loss writes the network output's gradient into slot 0.

use super::{Graph, Step};
use std::collections::BTreeSet;

/// When a value's gradient is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grad {
    /// Only when the gradient with respect to the network's input is asked for: no layer with parameters made
    /// the value (or anything it was made from).
    ForInput,
    /// Always: a layer with parameters is upstream.
    Always,
}

/// Where a contribution to a value's gradient goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The chunk's input gradient (the network's input).
    Input,
    /// A gradient slot.
    Slot(usize),
}

/// What a step's backward pass does for one value it read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contribution {
    /// Writes the value's gradient into `target` (the first contribution to it).
    Write(Target),
    /// Adds to the gradient in `target`; a layer first writes into slot `temp`.
    Add { temp: Option<usize>, target: Target },
    /// A residual sum's first contribution to its first operand: the output's slot becomes the operand's.
    Adopt,
}

/// The plan of the gradient slots.
#[derive(Default)]
pub struct Slots {
    /// How many slots a chunk needs (each holds a chunk's rows of the widest value).
    pub count: usize,
    /// Per step, by index in `Graph::steps`.
    pub steps: Vec<StepGrads>,
}

/// One step's backward pass.
pub struct StepGrads {
    /// The slot holding the gradient of the step's output.
    pub out: usize,
    /// Per value the step reads (in `Step::inputs` order), what the step does for its gradient.
    pub into: Vec<Contribution>,
}

impl Slots {
    /// Plans the slots of `graph`'s backward pass.
    pub fn plan(graph: &Graph) -> Self {
        let mut plan =
            Planner { free: BTreeSet::new(), count: 0, slot_of: vec![None; graph.values.len()], input_started: false };
        let out = plan.take();
        plan.slot_of[graph.output] = Some(out);
        let mut steps: Vec<Option<StepGrads>> = (0..graph.steps.len()).map(|_| None).collect();
        for (k, step) in graph.steps.iter().enumerate().rev() {
            let out = plan.slot_of[step.output(graph)].expect("every value but the output is read by a later step");
            let inputs = step.inputs(graph);
            let mut into = vec![Contribution::Adopt; inputs.len()];
            let mut adopted = false;
            // A residual sum serves its second operand first, so that its first (the body) can take its slot.
            let order: Vec<usize> = match step {
                Step::Add { .. } => vec![1, 0],
                _ => (0..inputs.len()).collect(),
            };
            let mut temps = Vec::new();
            for &i in &order {
                let v = inputs[i];
                let last = Some(&i) == order.last();
                into[i] = match (step, v, plan.slot_of[v]) {
                    (_, 0, _) => {
                        let first = !std::mem::replace(&mut plan.input_started, true);
                        match (first, step) {
                            (true, _) => Contribution::Write(Target::Input),
                            (false, Step::Layer { .. }) => {
                                let temp = plan.take();
                                temps.push(temp);
                                Contribution::Add { temp: Some(temp), target: Target::Input }
                            }
                            (false, _) => Contribution::Add { temp: None, target: Target::Input },
                        }
                    }
                    (Step::Add { .. }, _, None) if last => {
                        plan.slot_of[v] = Some(out);
                        adopted = true;
                        Contribution::Adopt
                    }
                    (_, _, None) => {
                        let slot = plan.take();
                        plan.slot_of[v] = Some(slot);
                        Contribution::Write(Target::Slot(slot))
                    }
                    (Step::Layer { .. }, _, Some(slot)) => {
                        let temp = plan.take();
                        temps.push(temp);
                        Contribution::Add { temp: Some(temp), target: Target::Slot(slot) }
                    }
                    (_, _, Some(slot)) => Contribution::Add { temp: None, target: Target::Slot(slot) },
                };
            }
            temps.into_iter().for_each(|t| plan.give(t));
            if !adopted {
                plan.give(out);
            }
            steps[k] = Some(StepGrads { out, into });
        }
        Slots { count: plan.count, steps: steps.into_iter().map(|s| s.expect("planned")).collect() }
    }
}

/// The slots in use while planning, in backward order.
struct Planner {
    free: BTreeSet<usize>,
    count: usize,
    slot_of: Vec<Option<usize>>,
    /// Whether a contribution to the network input's gradient was made already.
    input_started: bool,
}

impl Planner {
    /// The lowest free slot.
    fn take(&mut self) -> usize {
        match self.free.pop_first() {
            Some(s) => s,
            None => {
                self.count += 1;
                self.count - 1
            }
        }
    }

    fn give(&mut self, slot: usize) {
        self.free.insert(slot);
    }
}
