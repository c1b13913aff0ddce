package dev.rectify.server;

import dev.rectify.server.db.AdapterRecord;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code GET /v1/models}: the base model and every adapter ({@code root} and {@code parent} name the base);
 * {@code GET} and {@code DELETE /v1/models/{model}} (delete: admin key).
 */
@Controller("/v1/models")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ModelsController {
    private final AdapterRegistry models;
    private final long started = System.currentTimeMillis() / 1000;

    public ModelsController(AdapterRegistry models) {
        this.models = models;
    }

    @Get
    public ModelList list() {
        List<ModelObject> out = new ArrayList<>();
        out.add(base());
        for (AdapterRecord r : models.list()) {
            out.add(ModelObject.adapter(r));
        }
        return ModelList.of(out);
    }

    /** One model; its name may contain '/' ({@code org/name}), sent as is or encoded as %2F. */
    @Get("/{+model}")
    public ModelObject get(@PathVariable String model) {
        Ids.checkModel(model, "model");
        if (model.equals(models.baseName())) {
            return base();
        }
        return ModelObject.adapter(models.find(model).orElseThrow(() -> models.unknown(model)));
    }

    /**
     * Deletes a fine-tuned or imported model (admin key): it is no longer served and its files go. The base model
     * cannot be deleted (400).
     */
    @Delete("/{+model}")
    public DeletedObject delete(@PathVariable String model) {
        Ids.checkModel(model, "model");
        if (model.equals(models.baseName())) {
            throw ApiException.invalid(
                    "model",
                    "model_not_deletable",
                    "the base model '" + model + "' cannot be deleted; " + "only fine-tuned and imported models can");
        }
        return DeletedObject.of(models.delete(model).getName(), "model");
    }

    private ModelObject base() {
        return ModelObject.base(models.baseName(), started);
    }
}
