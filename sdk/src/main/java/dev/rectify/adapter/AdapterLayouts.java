package dev.rectify.adapter;

import dev.rectify.lora.ServingLayout;

/** An {@link Adapter} checked against, and serialized for, a multi-LoRA serving graph's {@link ServingLayout}. */
final class AdapterLayouts {
    private AdapterLayouts() {}

    /** Throws {@code AdapterMismatchException} unless {@code adapter} fits {@code layout}. */
    static void check(ServingLayout layout, Adapter adapter) {
        layout.check(
                adapter.id(),
                adapter.kind() == Adapter.Kind.LORA,
                adapter.rank(),
                adapter.weights().values(),
                adapter.weights().shapes());
    }

    /** {@code adapter}'s A, B and scale as an {@code .onnx_adapter} for {@code layout}'s graph. */
    static byte[] toOnnxAdapter(ServingLayout layout, Adapter adapter) {
        return layout.toOnnxAdapter(
                adapter.id(),
                adapter.rank(),
                adapter.alpha(),
                adapter.weights().values(),
                adapter.weights().shapes());
    }
}
