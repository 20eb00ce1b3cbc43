//! Prints the outputs of `nn_embedded::zoo`'s networks on eight generated inputs, one sample per line
//! (`{network} {sample} {values…}`), for `tests/embedded_agreement.rs` of the `nn` crate to compare with the `std`
//! build. Input value `i` of sample `s` is `((31·s + 7·i) mod 19) / 9.5 − 1`; the tiny GPT reads token ids
//! `(3·s + 5·t) mod 11`, as a whole window (`gpt_window`) and one step at a time with its key/value cache
//! (`gpt_stream`), the logits of every step on one line.

use nn_embedded::zoo::{BnNet, BranchNet, SeqNet, TinyGpt};

fn value(s: usize, i: usize) -> f32 {
    ((31 * s + 7 * i) % 19) as f32 / 9.5 - 1.0
}

fn print(name: &str, s: usize, ys: &[f32]) {
    let values: Vec<String> = ys.iter().map(|y| format!("{y:?}")).collect();
    println!("{name} {s} {}", values.join(" "));
}

fn main() {
    let mut bn_buffer = vec![0.0; BnNet::STATIC_FLOATS];
    let mut seq_buffer = vec![0.0; SeqNet::STATIC_FLOATS];
    let mut branch_buffer = vec![0.0; BranchNet::STATIC_FLOATS];
    let mut gpt_buffer = vec![0.0; TinyGpt::STATIC_FLOATS];
    let gpt = TinyGpt::pretrained();
    for s in 0..8 {
        let image = [core::array::from_fn(|r| core::array::from_fn(|c| value(s, r * 8 + c)))];
        let y = BnNet::pretrained().forward_static(&image, bn_buffer.as_mut_slice().try_into().unwrap());
        print("bn_net", s, &y);
        let steps = core::array::from_fn(|t| core::array::from_fn(|f| value(s, t * 3 + f)));
        let y = SeqNet::pretrained().forward_static(&steps, seq_buffer.as_mut_slice().try_into().unwrap());
        print("seq_net", s, &y);
        let y = BranchNet::pretrained().forward_static(&image, branch_buffer.as_mut_slice().try_into().unwrap());
        print("branch_net", s, &y);
        let ids: [u32; 6] = core::array::from_fn(|t| ((3 * s + 5 * t) % 11) as u32);
        let window = gpt.forward_static(&ids, gpt_buffer.as_mut_slice().try_into().unwrap());
        print("gpt_window", s, window.as_flattened());
        let mut state = gpt.initial_state();
        let stream: Vec<f32> = ids
            .iter()
            .flat_map(|&id| gpt.step_static(id, &mut state, gpt_buffer.as_mut_slice().try_into().unwrap()))
            .collect();
        print("gpt_stream", s, &stream);
    }
}
