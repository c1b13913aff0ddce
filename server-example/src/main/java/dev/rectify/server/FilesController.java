package dev.rectify.server;

import dev.rectify.server.db.FileRecord;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Part;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.List;

/** {@code /v1/files}: upload (multipart, purpose fine-tune), list, get, content, delete. Admin key. */
@Controller("/v1/files")
@ExecuteOn(TaskExecutors.BLOCKING)
public class FilesController {
    private final FileService files;

    public FilesController(FileService files) {
        this.files = files;
    }

    @Post(consumes = MediaType.MULTIPART_FORM_DATA)
    public FileObject upload(
            @Part("file") @Nullable CompletedFileUpload file, @Part("purpose") @Nullable String purpose)
            throws IOException {
        if (file == null) {
            throw ApiException.invalid("file", "missing required multipart part 'file' (a JSONL file)");
        }
        try (InputStream in = file.getInputStream()) {
            return FileObject.of(files.upload(file.getFilename(), purpose, in));
        }
    }

    @Get
    public ListPage<FileObject> list(@QueryValue @Nullable String after, @QueryValue @Nullable String limit) {
        int n = Paging.limit(limit);
        List<FileRecord> page = files.list(after, n + 1);
        List<FileObject> items = page.stream().limit(n).map(FileObject::of).toList();
        return ListPage.of(items, FileObject::id, page.size() > n);
    }

    @Get("/{fileId}")
    public FileObject get(@PathVariable String fileId) {
        return FileObject.of(files.get(fileId, "file_id"));
    }

    /** The file's bytes as uploaded (or, for a result file, as the server wrote them). */
    @Get(
            uri = "/{fileId}/content",
            produces = {
                MediaType.APPLICATION_OCTET_STREAM,
                "application/binary",
                "text/csv",
                "application/jsonl",
                MediaType.ALL
            })
    public HttpResponse<byte[]> content(@PathVariable String fileId) throws IOException {
        FileRecord r = files.get(fileId, "file_id");
        byte[] bytes = Files.readAllBytes(files.content(fileId));
        MediaType type = r.getFilename().endsWith(".csv")
                ? MediaType.of("text/csv")
                : r.getFilename().endsWith(".jsonl")
                        ? MediaType.of("application/jsonl")
                        : MediaType.APPLICATION_OCTET_STREAM_TYPE;
        return HttpResponse.ok(bytes)
                .contentType(type)
                .header(
                        "Content-Disposition",
                        "attachment; filename=\"" + r.getFilename().replaceAll("[\"\\\\\\p{Cntrl}]", "_") + "\"");
    }

    @Delete("/{fileId}")
    public DeletedObject delete(@PathVariable String fileId) {
        files.delete(fileId);
        return DeletedObject.of(fileId, "file");
    }
}
