package dev.rectify.adapter;

import java.time.Instant;

/**
 * A stored adapter's manifest, without its weights.
 *
 * @param id            content-addressed id (hash of base model, data, objective and options)
 * @param baseModelHash the base model it belongs to
 * @param kind          LoRA or full fine-tune
 * @param objective     the objective's name, or null when unknown
 * @param recipe        the canonical fine-tuning options (or a description for adapters made elsewhere)
 * @param created       when it was written
 * @param parameters    number of trained parameters
 * @param bytes         size of its files on disk
 * @param pinned        whether it is pinned (kept in memory, protected from deletion)
 */
public record AdapterInfo(
        String id,
        String baseModelHash,
        Adapter.Kind kind,
        String objective,
        String recipe,
        Instant created,
        long parameters,
        long bytes,
        boolean pinned) {}
