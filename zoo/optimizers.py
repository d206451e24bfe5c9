"""Adam with its update in one kernel per variable.

Keras's Adam updates each variable with about ten separate element-wise ops (m, v, their square,
root, quotient and three assignments), each a pass over the variable in memory. On CPUs with the
families' 1-25 M parameters that is the largest part of a train step after the matrix products
(measured: ~140 ms of a 180 ms bfloat16 IAE step; `benchmarks.training_speed`). TensorFlow's
`ApplyAdam` kernel does the same update (Kingma & Ba 2015, Algorithm 1 with the bias correction
folded into the step size, exactly as Keras writes it) in one fused, vectorized pass. Same
variables, same checkpoints as keras.optimizers.Adam; other backends and AMSGrad fall back to it.
"""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class Adam(keras.optimizers.Adam):
    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.value.handle, v=v.value.handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))


class LossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Dynamic loss scaling for `precision=mixed_float16`: the loss is scaled up before the
    gradient so that float16 does not flush small gradients to zero, the gradients are scaled
    back, and a step with a non-finite gradient is skipped and halves the scale. Unlike Keras's,
    a skipped step still counts: the zoo keys its step counter, random draws, data position and
    checkpoints on the iterations, which must advance once per train step, or a run would train
    fewer steps than it says and a resumed one would re-read batches."""

    def _stateful_handle_non_finite_grads(self):
        super()._stateful_handle_non_finite_grads()
        self.iterations.assign_add(1)
