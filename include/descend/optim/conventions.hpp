// Switches between PyTorch's conventions (the defaults) and the conventions of
// the design documents descend grew from.
#pragma once

namespace descend {

// Where eps enters the denominator of AdaGrad, RMSProp, Adadelta and Adam.
enum class EpsPlacement {
  outside_sqrt,  // w -= lr * g / (sqrt(v) + eps)     PyTorch's AdaGrad, RMSProp, Adam
  inside_sqrt,   // w -= lr * g / sqrt(v + eps)       PyTorch's Adadelta; Paddle NNDL book
};

// Where the learning rate enters a momentum buffer (SGD and RMSProp).
enum class MomentumStyle {
  lr_outside,  // b = mu * b + g;       w -= lr * b     PyTorch
  lr_inside,   // b = mu * b + lr * g;  w -= b          cute-dl, Paddle NNDL book
};
// Their values' names, as a checkpoint stores them.
inline constexpr const char* kEpsPlacementNames[] = {"outside_sqrt", "inside_sqrt"};
inline constexpr const char* kMomentumStyleNames[] = {"lr_outside", "lr_inside"};

// The two agree while the learning rate is constant. Once it changes (decay,
// set_lr), lr_outside rescales the whole accumulated velocity at once, while
// lr_inside only scales the gradients that arrive from then on.

}  // namespace descend
