package dev.rectify.server;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.io.FileTrees;
import dev.rectify.server.db.AdapterRecord;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import jakarta.validation.Valid;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Adapter management (admin key): {@code GET /v1/admin/adapters}; {@code POST /v1/admin/adapters} {"name", "path",
 * "pinned"?} loads a PEFT folder (path inside the data folder); {@code POST …/{name}/unload}, {@code …/pin},
 * {@code …/unpin}; {@code DELETE …/{name}}.
 */
@Controller("/v1/admin/adapters")
@ExecuteOn(TaskExecutors.BLOCKING)
public class AdminController {
    private final AdapterRegistry models;
    private final Settings settings;

    public AdminController(AdapterRegistry models, Settings settings) {
        this.models = models;
        this.settings = settings;
    }

    @Get
    public AdapterObject.Listing list() {
        return new AdapterObject.Listing(
                "list", models.list().stream().map(this::json).toList());
    }

    @Get("/{name}")
    public AdapterObject get(@PathVariable String name) {
        Ids.checkModel(name, "name");
        return json(models.find(name).orElseThrow(() -> models.unknown(name)));
    }

    @Post
    @Consumes(MediaType.APPLICATION_JSON)
    public AdapterObject load(@Valid @Body @Nullable AdapterLoadBody body) {
        AdapterLoadBody b = Json.present(body);
        String name = Ids.checkModel(b.name(), "name");
        Path dir = SafePaths.inside(settings.dataDir(), b.path(), "path");
        Boolean pinned = b.pinned();
        if (!Files.isDirectory(dir)) {
            throw ApiException.invalid(
                    "path",
                    "adapter_not_found",
                    "no adapter folder at '" + settings.dataDir().relativize(dir) + "' in the data folder");
        }
        if (models.find(name).isPresent() || name.equals(models.baseName())) {
            throw ApiException.conflict("model_exists", "a model named '" + name + "' already exists");
        }
        Adapter a;
        try {
            a = AdapterFiles.read(dir, models.base().contentHash());
        } catch (ModelFormatException e) {
            throw ApiException.invalid("path", "invalid_adapter", e.getMessage());
        }
        if (!a.baseModelHash().equals(models.base().contentHash())) {
            throw ApiException.invalid(
                    "path",
                    "adapter_base_mismatch",
                    "the adapter was trained on another base model ("
                            + a.baseModelHash().substring(0, 12) + "), not " + models.baseName());
        }
        String storage = "import-" + Ids.newId("a").substring(2);
        AdapterFiles.write(a, settings.adaptersDir().resolve(storage));
        AdapterRecord r = new AdapterRecord();
        r.setName(name);
        r.setSeq(Ids.seq());
        r.setAdapterId(a.id());
        r.setStorageName(storage);
        r.setBaseModel(models.baseName());
        r.setPinned(pinned != null && pinned);
        r.setSource("import");
        r.setCreatedAt(System.currentTimeMillis());
        r.setBytes(a.byteSize());
        try {
            models.register(r);
        } catch (RuntimeException e) {
            models.find(name)
                    .ifPresentOrElse(
                            x -> {},
                            () -> FileTrees.deleteQuietly(settings.adaptersDir().resolve(storage)));
            throw e;
        }
        return json(r);
    }

    @Post("/{name}/unload")
    public AdapterObject unload(@PathVariable String name) {
        return json(models.unload(Ids.checkModel(name, "name")));
    }

    @Post("/{name}/pin")
    public AdapterObject pin(@PathVariable String name) {
        return json(models.pin(Ids.checkModel(name, "name"), true));
    }

    @Post("/{name}/unpin")
    public AdapterObject unpin(@PathVariable String name) {
        return json(models.pin(Ids.checkModel(name, "name"), false));
    }

    @Delete("/{name}")
    public DeletedObject delete(@PathVariable String name) {
        return DeletedObject.of(models.delete(Ids.checkModel(name, "name")).getName(), "model");
    }

    private AdapterObject json(AdapterRecord r) {
        return new AdapterObject(
                r.getName(),
                "adapter",
                r.getAdapterId(),
                r.getBaseModel(),
                r.getSource(),
                r.getJobId(),
                r.isPinned(),
                models.isLoaded(r.getName()),
                r.getBytes(),
                r.getCreatedAt() / 1000,
                settings.dataDir().relativize(models.directory(r)).toString());
    }
}
