package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.server.db.AdapterRecord;
import io.micronaut.http.HttpResponse;
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
    public HttpResponse<String> list() {
        List<ObjectNode> out = new ArrayList<>();
        out.add(base());
        for (AdapterRecord r : models.list()) {
            out.add(adapter(r));
        }
        ObjectNode o = Json.object();
        o.put("object", "list");
        o.putArray("data").addAll(out);
        return Json.ok(o);
    }

    /** One model; its name may contain '/' ({@code org/name}), sent as is or encoded as %2F. */
    @Get("/{+model}")
    public HttpResponse<String> get(@PathVariable String model) {
        Ids.checkModel(model, "model");
        if (model.equals(models.baseName())) {
            return Json.ok(base());
        }
        return Json.ok(adapter(models.find(model).orElseThrow(() -> models.unknown(model))));
    }

    /**
     * Deletes a fine-tuned or imported model (admin key): it is no longer served and its files go. The base model
     * cannot be deleted (400).
     */
    @Delete("/{+model}")
    public HttpResponse<String> delete(@PathVariable String model) {
        Ids.checkModel(model, "model");
        if (model.equals(models.baseName())) {
            throw ApiException.invalid(
                    "model",
                    "model_not_deletable",
                    "the base model '" + model + "' cannot be deleted; " + "only fine-tuned and imported models can");
        }
        AdapterRecord r = models.delete(model);
        ObjectNode o = Json.object();
        o.put("id", r.getName());
        o.put("object", "model");
        o.put("deleted", true);
        return Json.ok(o);
    }

    private ObjectNode base() {
        ObjectNode m = Json.object();
        m.put("id", models.baseName());
        m.put("object", "model");
        m.put("created", started);
        m.put("owned_by", "rectify");
        m.put("root", models.baseName());
        m.putNull("parent");
        return m;
    }

    private ObjectNode adapter(AdapterRecord r) {
        ObjectNode m = Json.object();
        m.put("id", r.getName());
        m.put("object", "model");
        m.put("created", r.getCreatedAt() / 1000);
        m.put("owned_by", "rectify");
        m.put("root", r.getBaseModel());
        m.put("parent", r.getBaseModel());
        return m;
    }
}
