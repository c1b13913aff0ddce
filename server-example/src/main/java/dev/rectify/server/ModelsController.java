package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.server.db.AdapterRecord;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.util.ArrayList;
import java.util.List;

/** {@code GET /v1/models}: the base model and every adapter ({@code root} and {@code parent} name the base). */
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

    @Get("/{model}")
    public HttpResponse<String> get(@PathVariable String model) {
        Ids.checkModel(model, "model");
        if (model.equals(models.baseName())) {
            return Json.ok(base());
        }
        return Json.ok(adapter(models.find(model).orElseThrow(() -> models.unknown(model))));
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
