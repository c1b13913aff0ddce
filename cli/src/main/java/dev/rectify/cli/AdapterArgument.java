package dev.rectify.cli;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.adapter.AdapterInfo;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.model.BaseModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Resolves a command's ADAPTER argument: an adapter folder (Rectify's or a PEFT folder for {@code base}), or the
 * id of an adapter in the adapter store ({@code $RECTIFY_HOME/adapters}), whole or a unique prefix of 8+ characters.
 */
final class AdapterArgument {
    private AdapterArgument() {}

    static Adapter resolve(String arg, BaseModel base) {
        Path dir = Path.of(arg);
        if (Files.isDirectory(dir)) {
            return AdapterFiles.read(dir, base.contentHash());
        }
        AdapterStore store = AdapterStore.defaultStore();
        if (arg.length() >= 8 && arg.matches("[0-9a-f]+")) {
            List<AdapterInfo> hits =
                    store.list().stream().filter(i -> i.id().startsWith(arg)).toList();
            if (hits.size() == 1) {
                return store.get(hits.get(0).id());
            }
            if (hits.size() > 1) {
                throw new InvalidArgumentException("adapter id prefix " + arg + " matches " + hits.size()
                        + " adapters in the store " + store.root() + ": give more characters");
            }
        }
        throw new InvalidArgumentException(
                "adapter '" + arg + "': no such folder, and no adapter with that id (or id prefix "
                        + "of 8+ hex digits) in the store " + store.root());
    }
}
