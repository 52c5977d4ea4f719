//! An LSTM layer written out step by step, for what libtorch's fused LSTM cannot do: a cell
//! activation other than tanh (the Keras seed's relu), and many models stacked along a leading
//! dimension, each with its own weights, run as one batched computation (how trials will be
//! packed onto one GPU).
//!
//! Shapes: weights `[models, 4·hidden, inputs]` and `[models, 4·hidden, hidden]`, one bias
//! `[models, 4·hidden]` (Keras' single bias; PyTorch's two add up to one); inputs
//! `[models, batch, seq, inputs]`. Gates in the order input, forget, cell, output (PyTorch's
//! and Keras').

use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use crate::config::{Activation, InitScheme};

/// See the module documentation. Variables `w_ih`, `w_hh`, `bias` under its path.
#[derive(Debug)]
pub struct StackedLstm {
    w_ih: Tensor,
    w_hh: Tensor,
    bias: Tensor,
    hidden: i64,
    activation: Activation,
}

impl StackedLstm {
    /// `models` independent LSTMs of `inputs → hidden`, initialised by `init` (each model's
    /// recurrent kernel orthogonal on its own under `keras`).
    pub fn new(
        path: &nn::Path,
        models: i64,
        inputs: i64,
        hidden: i64,
        activation: Activation,
        init: InitScheme,
    ) -> Self {
        let gates = 4 * hidden;
        let (w_ih, w_hh, bias) = match init {
            InitScheme::Torch => {
                let bound = 1.0 / (hidden as f64).sqrt();
                let u = Init::Uniform { lo: -bound, up: bound };
                (
                    path.var("w_ih", &[models, gates, inputs], u),
                    path.var("w_hh", &[models, gates, hidden], u),
                    path.var("bias", &[models, gates], u),
                )
            }
            InitScheme::Keras => {
                // glorot_uniform of the Keras kernel [inputs, 4·hidden].
                let limit = (6.0 / (inputs + gates) as f64).sqrt();
                let w_ih = path.var(
                    "w_ih",
                    &[models, gates, inputs],
                    Init::Uniform { lo: -limit, up: limit },
                );
                let recurrent: Vec<Tensor> =
                    (0..models).map(|_| orthogonal(gates, hidden, path.device())).collect();
                let w_hh = path.var_copy("w_hh", &Tensor::stack(&recurrent, 0));
                // unit_forget_bias: zeros, the forget gate's slice at one.
                let b = Tensor::zeros([models, gates], (Kind::Float, path.device()));
                let _ = b.narrow(1, hidden, hidden).fill_(1.0);
                let bias = path.var_copy("bias", &b);
                (w_ih, w_hh, bias)
            }
        };
        StackedLstm { w_ih, w_hh, bias, hidden, activation }
    }

    fn act(&self, x: &Tensor) -> Tensor {
        match self.activation {
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
        }
    }

    /// The final hidden state: `x` `[models, batch, seq, inputs]` → `[models, batch, hidden]`.
    pub fn last_hidden(&self, x: &Tensor) -> Tensor {
        let size = x.size();
        let (models, batch, seq) = (size[0], size[1], size[2]);
        // Every step's input projection in one product: [models, batch, seq, 4·hidden].
        let projected =
            x.matmul(&self.w_ih.transpose(1, 2).unsqueeze(1)) + self.bias.unsqueeze(1).unsqueeze(1);
        let w_hh = self.w_hh.transpose(1, 2); // [models, hidden, 4·hidden]
        let zeros = || Tensor::zeros([models, batch, self.hidden], (x.kind(), x.device()));
        let (mut h, mut c) = (zeros(), zeros());
        let hidden = self.hidden;
        for t in 0..seq {
            // Few, larger operations: small LSTMs are bound by per-operation overhead.
            let gates = projected.select(2, t).baddbmm(&h, &w_hh, 1.0, 1.0);
            let sig = gates.sigmoid().chunk(4, -1);
            let candidate = self.act(&gates.narrow(-1, 2 * hidden, hidden));
            c = (&sig[1] * c).addcmul(&sig[0], &candidate);
            h = &sig[3] * self.act(&c);
        }
        h
    }
}

/// An orthogonal `[rows, cols]` matrix with `rows ≥ cols` (orthonormal columns), drawn as
/// Keras' `Orthogonal` initialiser does: QR of a standard normal matrix, signs fixed by R's
/// diagonal. The recurrent kernel `[hidden, 4·hidden]` of Keras is its transpose.
fn orthogonal(rows: i64, cols: i64, device: tch::Device) -> Tensor {
    let a = Tensor::randn([rows, cols], (Kind::Float, device));
    let (q, r) = Tensor::linalg_qr(&a, "reduced");
    q * r.diagonal(0, 0, 1).sign().unsqueeze(0)
}

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;

    /// Keras initialisation: orthogonal recurrent kernels, the forget bias at one, the kernel
    /// within the Glorot limit.
    #[test]
    fn keras_initialisation() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = StackedLstm::new(&vs.root(), 2, 5, 8, Activation::Relu, InitScheme::Keras);
        for m in 0..2 {
            let w = cell.w_hh.get(m); // [32, 8]
            let eye = w.transpose(0, 1).matmul(&w);
            let err = (eye - Tensor::eye(8, (Kind::Float, Device::Cpu))).abs().max();
            assert!(err.double_value(&[]) < 1e-5);
        }
        assert_ne!(
            cell.w_hh.get(0).sum(Kind::Double).double_value(&[]),
            cell.w_hh.get(1).sum(Kind::Double).double_value(&[])
        );
        let forget = cell.bias.narrow(1, 8, 8);
        assert!(forget.eq(1.0).all().int64_value(&[]) == 1);
        assert_eq!(cell.bias.abs().sum(Kind::Double).double_value(&[]), 2.0 * 8.0);
        let limit = (6.0 / (5.0 + 32.0f64)).sqrt();
        assert!(cell.w_ih.abs().max().double_value(&[]) <= limit);
    }

    /// Models stacked along the leading dimension compute what each computes alone.
    #[test]
    fn stacked_models_are_independent() {
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let cell = StackedLstm::new(&vs.root(), 3, 4, 6, Activation::Tanh, InitScheme::Torch);
        let x = Tensor::randn([3, 5, 7, 4], (Kind::Float, Device::Cpu));
        let all = tch::no_grad(|| cell.last_hidden(&x));
        for m in 0..3 {
            let one = StackedLstm {
                w_ih: cell.w_ih.narrow(0, m, 1),
                w_hh: cell.w_hh.narrow(0, m, 1),
                bias: cell.bias.narrow(0, m, 1),
                hidden: 6,
                activation: Activation::Tanh,
            };
            let alone = tch::no_grad(|| one.last_hidden(&x.narrow(0, m, 1)));
            assert!(alone.allclose(&all.narrow(0, m, 1), 1e-6, 1e-6, false), "model {m}");
        }
    }
}
