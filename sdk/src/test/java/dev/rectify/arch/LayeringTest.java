package dev.rectify.arch;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The SDK's layers (docs/architecture.md): each imports only the layers below it, no package cycle, and nothing inside
 * the SDK imports the facade. Runs over the compiled main classes, so a violating import fails the build.
 */
class LayeringTest {
    private static final JavaClasses SDK = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.rectify");

    @Test
    void layersImportOnlyDownwards() {
        layeredArchitecture()
                .consideringOnlyDependenciesInLayers()
                .layer("core")
                .definedBy("dev.rectify.core..")
                .layer("ort")
                .definedBy("dev.rectify.ort..")
                .layer("onnx")
                .definedBy("dev.rectify.onnx..")
                .layer("canon")
                .definedBy("dev.rectify.canon..")
                .layer("autodiff")
                .definedBy("dev.rectify.autodiff..")
                .layer("generate")
                .definedBy("dev.rectify.generate..")
                .layer("data")
                .definedBy("dev.rectify.data..")
                .layer("lora")
                .definedBy("dev.rectify.lora..")
                .layer("model")
                .definedBy("dev.rectify.model..")
                .layer("train")
                .definedBy("dev.rectify.train..")
                .layer("eval")
                .definedBy("dev.rectify.eval..")
                .layer("adapter")
                .definedBy("dev.rectify.adapter..")
                .layer("job")
                .definedBy("dev.rectify.job..")
                .layer("facade")
                .definedBy("dev.rectify")
                .whereLayer("facade")
                .mayNotBeAccessedByAnyLayer()
                .whereLayer("job")
                .mayOnlyBeAccessedByLayers("facade")
                .whereLayer("adapter")
                .mayOnlyBeAccessedByLayers("job", "facade")
                .whereLayer("eval")
                .mayOnlyBeAccessedByLayers("job", "facade")
                .whereLayer("train")
                .mayOnlyBeAccessedByLayers("adapter", "job", "facade")
                .whereLayer("model")
                .mayOnlyBeAccessedByLayers("train", "eval", "adapter", "job", "facade")
                .whereLayer("lora")
                .mayOnlyBeAccessedByLayers("train", "adapter", "job", "facade")
                .whereLayer("data")
                .mayOnlyBeAccessedByLayers("model", "train", "eval", "adapter", "job", "facade")
                .whereLayer("generate")
                .mayOnlyBeAccessedByLayers("data", "model", "train", "eval", "adapter", "job", "facade")
                .whereLayer("autodiff")
                .mayOnlyBeAccessedByLayers("train", "adapter", "job", "facade")
                .whereLayer("canon")
                .mayOnlyBeAccessedByLayers("train", "adapter", "job", "facade")
                .whereLayer("onnx")
                .mayOnlyBeAccessedByLayers("canon", "autodiff", "lora", "model", "train", "adapter", "job", "facade")
                .whereLayer("ort")
                .mayOnlyBeAccessedByLayers(
                        "generate", "data", "lora", "model", "train", "eval", "adapter", "job", "facade")
                .check(SDK);
    }

    @Test
    void noPackageCycles() {
        slices().matching("dev.rectify.(*)..").should().beFreeOfCycles().check(SDK);
    }
}
