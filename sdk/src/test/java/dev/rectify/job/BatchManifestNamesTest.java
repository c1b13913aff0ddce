package dev.rectify.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.LrSchedule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batch manifests take TRL's and PEFT's option names, ours staying aliases of the same settings. */
class BatchManifestNamesTest {
    @Test
    void trlNamesAndOursGiveTheSameJob(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("d.jsonl"), "{\"prompt\": \"a\", \"completion\": \"b\"}\n");
        Path manifest = Files.writeString(
                dir.resolve("m.jsonl"),
                String.join(
                                "\n",
                                "{\"name\": \"trl\", \"data\": \"d.jsonl\", \"options\": {\"num_train_epochs\": 2, \"per_device_train_batch_size\": 2, "
                                        + "\"gradient_accumulation_steps\": 4, \"max_length\": 128, \"loss_type\": \"dft\", \"learning_rate\": 1e-4, "
                                        + "\"warmup_ratio\": 0.03, \"lr_scheduler_type\": \"constant_with_warmup\", \"weight_decay\": 0.0, "
                                        + "\"max_grad_norm\": 0.3, \"lora_r\": 8, \"lora_alpha\": 16, \"lora_dropout\": 0.05, "
                                        + "\"lora_target_modules\": [\"q_proj\", \"v_proj\"]}}",
                                "{\"name\": \"ours\", \"data\": \"d.jsonl\", \"objective\": \"dft\", \"options\": {\"epochs\": 2, \"micro_batch_size\": 2, "
                                        + "\"batch_size\": 8, \"max_seq_length\": 128, \"learning_rate\": 1e-4, \"warmup_ratio\": 0.03, "
                                        + "\"schedule\": \"constant_with_warmup\", \"weight_decay\": 0.0, \"max_grad_norm\": 0.3, \"lora_rank\": 8, "
                                        + "\"lora_alpha\": 16, \"lora_dropout\": 0.05, \"lora_targets\": [\"v_proj\", \"q_proj\"]}}")
                        + "\n");
        List<BatchManifest.Job> jobs = BatchManifest.read(manifest, dir.resolve("out"));
        FineTuneOptions trl = jobs.get(0).optionsBuilder().build();
        FineTuneOptions ours = jobs.get(1).optionsBuilder().build();
        assertEquals(ours.hyperparameters(), trl.hyperparameters());
        assertEquals(8, trl.batchSize());
        assertEquals(2, trl.microBatchSize());
        assertEquals(0.05, trl.loraDropout());
        assertEquals(LrSchedule.CONSTANT_WITH_WARMUP, trl.schedule());
        assertEquals(Objective.DFT, trl.objective());

        Path bad = Files.writeString(
                dir.resolve("bad.jsonl"),
                "{\"name\": \"x\", \"data\": \"d.jsonl\", \"options\": {\"lora_r\": 8, \"lora_rank\": 4}}\n");
        InvalidArgumentException e = assertThrows(
                InvalidArgumentException.class,
                () -> BatchManifest.read(bad, dir.resolve("out"))
                        .get(0)
                        .optionsBuilder()
                        .build());
        assertTrue(e.getMessage().contains("lora_r") && e.getMessage().contains("lora_rank"), e.getMessage());
    }
}
