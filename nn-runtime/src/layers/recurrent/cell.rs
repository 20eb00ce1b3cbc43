//! The three recurrent cells, as PyTorch defines them, one time step of one sample at a time: forward from the
//! step's input projection `p = W_ih·x + b_ih` and hidden projection `q = W_hh·h + b_hh`, backward to the
//! gradients of both projections.

use crate::kernels::sigmoid;

/// One kind of recurrent cell. `H` is the hidden size; every slice below is a multiple of it.
pub trait Cell: Copy + Default + Send + Sync + 'static {
    /// Gates (blocks of `H` rows) of the weight matrices: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
    const GATES: usize;
    /// State blocks of `H` values: the hidden state, and an LSTM's cell state after it.
    const STATES: usize;
    /// Blocks of `H` values a step keeps for its backward pass (besides the previous hidden state).
    const SAVED: usize;
    /// Whether the pre-activation is `p + q` (RNN, LSTM): then `b_hh` is added into the input projection, and
    /// the two projections' gradients are equal, so backward writes `dp` only (`dq` is empty). A GRU multiplies
    /// part of `q` by its reset gate: its `b_hh` stays in `q`, and `dq` differs.
    const FOLDS_HIDDEN_BIAS: bool;

    /// One step: `hidden` (and, for an LSTM, `cell`; empty for the others), the previous state, become the new
    /// one; `saved` (`SAVED·H`) receives what backward needs.
    fn forward(h: usize, p: &[f32], q: &[f32], hidden: &mut [f32], cell: &mut [f32], saved: &mut [f32]);

    /// One step back: `dh` is the gradient of the step's hidden state (from the output and the next step),
    /// `dstate` holds the gradient of the step's cell state (LSTM) on entry and receives the previous step's.
    /// Writes the gradients of the input projection (`dp`) and, unless [`Cell::FOLDS_HIDDEN_BIAS`], the hidden
    /// projection (`dq`), both `GATES·H`, and `dh_prev`, the part of the previous hidden state's gradient that does not flow through `W_hh`
    /// (the GRU's `z ⊙ dh`; zero for the others).
    #[allow(clippy::too_many_arguments)]
    fn backward(
        h: usize,
        saved: &[f32],
        h_prev: &[f32],
        dh: &[f32],
        dstate: &mut [f32],
        dp: &mut [f32],
        dq: &mut [f32],
        dh_prev: &mut [f32],
    );
}

/// The Elman RNN cell with `tanh`: `h = tanh(W_ih·x + b_ih + W_hh·h + b_hh)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RnnTanh;

/// The Elman RNN cell with ReLU (PyTorch's `nonlinearity='relu'`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RnnRelu;

/// The LSTM cell: `i, f, o = σ(·)`, `g = tanh(·)`, `c = f ⊙ c₋ + i ⊙ g`, `h = o ⊙ tanh(c)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LstmCell;

/// The GRU cell: `r, z = σ(·)`, `n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))`, `h = (1 − z) ⊙ n + z ⊙ h₋`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GruCell;

/// An RNN cell's two nonlinearities.
macro_rules! rnn_cell {
    ($cell:ty, |$a:ident| $act:expr, |$y:ident| $derivative:expr) => {
        impl Cell for $cell {
            const GATES: usize = 1;
            const STATES: usize = 1;
            /// The new hidden state, whose derivative gives the activation's.
            const SAVED: usize = 1;
            const FOLDS_HIDDEN_BIAS: bool = true;

            fn forward(_h: usize, p: &[f32], q: &[f32], hidden: &mut [f32], _cell: &mut [f32], saved: &mut [f32]) {
                for ((s, out), (&p, &q)) in hidden.iter_mut().zip(saved.iter_mut()).zip(p.iter().zip(q)) {
                    let $a = p + q;
                    *s = $act;
                    *out = *s;
                }
            }

            fn backward(
                _h: usize,
                saved: &[f32],
                _h_prev: &[f32],
                dh: &[f32],
                _dstate: &mut [f32],
                dp: &mut [f32],
                _dq: &mut [f32],
                dh_prev: &mut [f32],
            ) {
                for ((dp, &$y), &dh) in dp.iter_mut().zip(saved).zip(dh) {
                    *dp = dh * $derivative;
                }
                dh_prev.fill(0.0);
            }
        }
    };
}

rnn_cell!(RnnTanh, |a| a.tanh(), |y| 1.0 - y * y);
// `a <= 0` is false for NaN, so NaN passes through (as the ReLU layer's).
rnn_cell!(RnnRelu, |a| if a <= 0.0 { 0.0 } else { a }, |y| if y <= 0.0 { 0.0 } else { 1.0 });

impl Cell for LstmCell {
    const GATES: usize = 4;
    const STATES: usize = 2;
    /// The gates i, f, g, o (after their nonlinearities), the previous and the new cell state.
    const SAVED: usize = 6;
    const FOLDS_HIDDEN_BIAS: bool = true;

    fn forward(h: usize, p: &[f32], q: &[f32], hidden: &mut [f32], cell: &mut [f32], saved: &mut [f32]) {
        let (gates, rest) = saved.split_at_mut(4 * h);
        let (c_prev, c_new) = rest.split_at_mut(h);
        for (k, g) in gates.iter_mut().enumerate() {
            let a = p[k] + q[k];
            // Gates i, f, o are sigmoids, g (the third block) a tanh.
            *g = if (2 * h..3 * h).contains(&k) { a.tanh() } else { sigmoid(a) };
        }
        for j in 0..h {
            let (i, f, g, o) = (gates[j], gates[h + j], gates[2 * h + j], gates[3 * h + j]);
            c_prev[j] = cell[j];
            let c = f * cell[j] + i * g;
            c_new[j] = c;
            cell[j] = c;
            hidden[j] = o * c.tanh();
        }
    }

    fn backward(
        h: usize,
        saved: &[f32],
        _h_prev: &[f32],
        dh: &[f32],
        dstate: &mut [f32],
        dp: &mut [f32],
        _dq: &mut [f32],
        dh_prev: &mut [f32],
    ) {
        let (gates, rest) = saved.split_at(4 * h);
        let (c_prev, c_new) = rest.split_at(h);
        let dc_next = &mut dstate[h..2 * h];
        for j in 0..h {
            let (i, f, g, o) = (gates[j], gates[h + j], gates[2 * h + j], gates[3 * h + j]);
            let tc = c_new[j].tanh();
            let dc = dc_next[j] + dh[j] * o * (1.0 - tc * tc);
            let (di, df, dg, d_o) = (dc * g, dc * c_prev[j], dc * i, dh[j] * tc);
            dp[j] = di * i * (1.0 - i);
            dp[h + j] = df * f * (1.0 - f);
            dp[2 * h + j] = dg * (1.0 - g * g);
            dp[3 * h + j] = d_o * o * (1.0 - o);
            dc_next[j] = dc * f;
        }
        dh_prev.fill(0.0);
    }
}

impl Cell for GruCell {
    const GATES: usize = 3;
    const STATES: usize = 1;
    /// The gates r, z, n and the hidden projection of n, `W_hn·h + b_hn`.
    const SAVED: usize = 4;
    const FOLDS_HIDDEN_BIAS: bool = false;

    fn forward(h: usize, p: &[f32], q: &[f32], hidden: &mut [f32], _cell: &mut [f32], saved: &mut [f32]) {
        let (gates, qn) = saved.split_at_mut(3 * h);
        for j in 0..h {
            let r = sigmoid(p[j] + q[j]);
            let z = sigmoid(p[h + j] + q[h + j]);
            let n = (p[2 * h + j] + r * q[2 * h + j]).tanh();
            (gates[j], gates[h + j], gates[2 * h + j], qn[j]) = (r, z, n, q[2 * h + j]);
            hidden[j] = (1.0 - z) * n + z * hidden[j];
        }
    }

    fn backward(
        h: usize,
        saved: &[f32],
        h_prev: &[f32],
        dh: &[f32],
        _dstate: &mut [f32],
        dp: &mut [f32],
        dq: &mut [f32],
        dh_prev: &mut [f32],
    ) {
        let (gates, qn) = saved.split_at(3 * h);
        for j in 0..h {
            let (r, z, n) = (gates[j], gates[h + j], gates[2 * h + j]);
            let dn = dh[j] * (1.0 - z);
            let dz = dh[j] * (h_prev[j] - n);
            let da_n = dn * (1.0 - n * n);
            let da_r = da_n * qn[j] * r * (1.0 - r);
            let da_z = dz * z * (1.0 - z);
            (dp[j], dp[h + j], dp[2 * h + j]) = (da_r, da_z, da_n);
            (dq[j], dq[h + j], dq[2 * h + j]) = (da_r, da_z, da_n * r);
            dh_prev[j] = dh[j] * z;
        }
    }
}
