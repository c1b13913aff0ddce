package dev.rectify.server;

import dev.rectify.core.Example;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.data.DataFormatException;
import dev.rectify.data.JsonlDataset;
import dev.rectify.server.db.FileRecord;
import dev.rectify.server.db.FileRepository;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.Sort;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/** Training files: JSONL uploads validated line by line, stored under the data folder by id. */
@Singleton
public class FileService {
    private static final int MAX_REPORTED_ERRORS = 10;
    /** The purpose of the files the server writes (jobs' metrics). */
    static final String RESULTS_PURPOSE = "fine-tune-results";

    private final Settings settings;
    private final FileRepository repo;

    public FileService(Settings settings, FileRepository repo) {
        this.settings = settings;
        this.repo = repo;
    }

    /** Validates and stores an upload; a 400 lists the bad lines (up to 10) with their numbers. */
    public FileRecord upload(String filename, String purpose, InputStream content) {
        if (purpose == null || purpose.isBlank()) {
            throw ApiException.invalid("purpose", "missing required parameter 'purpose' (use \"fine-tune\")");
        }
        if (!purpose.equals("fine-tune")) {
            throw ApiException.invalid("purpose", "'purpose' must be \"fine-tune\", got " + Ids.quote(purpose));
        }
        String name = filename == null
                ? "upload.jsonl"
                : Path.of(filename.replace('\\', '/')).getFileName() == null ? "upload.jsonl" : baseName(filename);
        String id = Ids.newId("file");
        try {
            Files.createDirectories(settings.filesDir());
            Path tmp = Files.createTempFile(settings.filesDir(), ".upload-", ".tmp");
            try {
                long bytes = Files.copy(content, tmp, StandardCopyOption.REPLACE_EXISTING);
                int examples = validate(tmp, name);
                Files.move(tmp, path(id), StandardCopyOption.ATOMIC_MOVE);
                FileRecord r = new FileRecord();
                r.setId(id);
                r.setSeq(Ids.seq());
                r.setFilename(name);
                r.setPurpose(purpose);
                r.setBytes(bytes);
                r.setExamples(examples);
                r.setCreatedAt(System.currentTimeMillis());
                repo.save(r);
                return r;
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new ApiException(
                    HttpStatus.INTERNAL_SERVER_ERROR,
                    "server_error",
                    null,
                    "file",
                    "cannot store the upload: " + e.getMessage());
        }
    }

    /** Stores a file the server made (a job's metrics CSV) with purpose {@code fine-tune-results}. */
    public FileRecord storeResult(String filename, byte[] content) {
        String id = Ids.newId("file");
        try {
            Files.createDirectories(settings.filesDir());
            AtomicFile.write(path(id), content);
        } catch (IOException e) {
            throw new ApiException(
                    HttpStatus.INTERNAL_SERVER_ERROR,
                    "server_error",
                    null,
                    null,
                    "cannot store the result file " + filename + ": " + e.getMessage());
        }
        FileRecord r = new FileRecord();
        r.setId(id);
        r.setSeq(Ids.seq());
        r.setFilename(filename);
        r.setPurpose(RESULTS_PURPOSE);
        r.setBytes(content.length);
        r.setExamples(0);
        r.setCreatedAt(System.currentTimeMillis());
        repo.save(r);
        return r;
    }

    /** The stored bytes of file {@code id} (404 when it is not known). */
    public Path content(String id) {
        get(id, "file_id");
        Path p = path(id);
        if (!Files.isRegularFile(p)) {
            throw ApiException.notFound(
                    "file_id", "file_not_found", "the content of file '" + id + "' is missing from the data folder");
        }
        return p;
    }

    private static String baseName(String filename) {
        String n = Path.of(filename.replace('\\', '/').replace("\0", ""))
                .getFileName()
                .toString();
        return n.length() > 200 ? n.substring(0, 200) : n;
    }

    /** Every line parsed as an example; returns the count. */
    private static int validate(Path file, String name) throws IOException {
        List<String> errors = new ArrayList<>();
        int examples = 0;
        long lineNo = 0;
        int badLines = 0;
        var decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(file), decoder))) {
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    JsonlDataset.parseLine(Path.of(name), lineNo, line);
                    examples++;
                } catch (DataFormatException e) {
                    badLines++;
                    if (errors.size() < MAX_REPORTED_ERRORS) {
                        errors.add("line " + e.line() + ": "
                                + e.getMessage().substring(e.getMessage().indexOf(": ", name.length()) + 2));
                    }
                }
            }
        } catch (CharacterCodingException e) {
            throw ApiException.invalid("file", "invalid_file", name + " is not UTF-8 text (line " + (lineNo + 1) + ")");
        }
        if (badLines > 0) {
            throw ApiException.invalid(
                    "file",
                    "invalid_file",
                    name + ": " + badLines + " invalid line" + (badLines == 1 ? "" : "s")
                            + (badLines > errors.size() ? " (first " + errors.size() + " shown)" : "") + ": "
                            + String.join("; ", errors));
        }
        if (examples == 0) {
            throw ApiException.invalid("file", "invalid_file", name + " has no examples (the file is empty)");
        }
        return examples;
    }

    public Path path(String id) {
        return settings.filesDir().resolve(Ids.check(id, "file", "file_id") + ".jsonl");
    }

    public FileRecord get(String id, String param) {
        Ids.check(id, "file", param);
        return repo.findById(id)
                .orElseThrow(() -> ApiException.notFound(param, "file_not_found", "no file with id '" + id + "'"));
    }

    public List<Example> examples(String id) {
        return JsonlDataset.read(path(id));
    }

    public List<FileRecord> list(String after, int limit) {
        long before = Long.MAX_VALUE;
        if (after != null) {
            before = get(after, "after").getSeq();
        }
        return repo.findBySeqLessThan(before, Pageable.from(0, limit, Sort.of(Sort.Order.desc("seq"))));
    }

    /** Deletes a file, unless a job that has not finished uses it (409 naming the jobs). */
    public synchronized void delete(String id) {
        FileRecord r = get(id, "file_id");
        List<String> users = repo.unfinishedJobsUsing(id);
        if (!users.isEmpty()) {
            throw ApiException.conflict(
                    "file_in_use",
                    "the file " + id + " is used by " + users.size() + " fine-tuning job"
                            + (users.size() == 1 ? "" : "s") + " that ha" + (users.size() == 1 ? "s" : "ve")
                            + " not finished ("
                            + String.join(", ", users.subList(0, Math.min(5, users.size())))
                            + (users.size() > 5 ? ", ..." : "")
                            + "); cancel them or wait for them to finish, then delete it");
        }
        repo.delete(r);
        try {
            Files.deleteIfExists(path(id));
        } catch (IOException e) {
            // the record is gone; a stray file is harmless
        }
    }
}
