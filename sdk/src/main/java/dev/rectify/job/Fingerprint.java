package dev.rectify.job;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.io.ContentHash;
import dev.rectify.train.Hyperparameters;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A fine-tune's fingerprint, which is its adapter's id: sha-256 over an explicit, versioned encoding of the base
 * model's content hash, the training examples, the held-out examples (or "split") and the
 * {@link Hyperparameters#encode() hyperparameters}. Examples are encoded field by field (kind, then each string as
 * its UTF-8 length and bytes, each message's role, content and weight), never through {@code toString()}, so the
 * id depends on the content only.
 */
public final class Fingerprint {
    /** The name and version of the encoding; bump it when the encoding changes. */
    public static final String ENCODING = "rectify-fingerprint/1";

    private Fingerprint() {}

    /** The adapter id of fine-tuning the base with content hash {@code baseHash} on these inputs. */
    public static String of(String baseHash, List<Example> train, List<Example> eval, Hyperparameters h) {
        return ContentHash.of(encode(baseHash, train, eval, h));
    }

    /** The bytes {@link #of} hashes. */
    static byte[] encode(String baseHash, List<Example> train, List<Example> eval, Hyperparameters h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        text(out, ENCODING);
        text(out, baseHash);
        examples(out, "train", train);
        if (eval == null) {
            text(out, "eval:split");
        } else {
            examples(out, "eval", eval);
        }
        text(out, h.encode());
        return out.toByteArray();
    }

    private static void examples(ByteArrayOutputStream out, String what, List<Example> examples) {
        text(out, what + ":" + examples.size());
        for (Example e : examples) {
            if (e.isChat()) {
                text(out, "chat:" + e.messages().size());
                for (ChatMessage m : e.messages()) {
                    text(out, m.role());
                    text(out, m.content());
                    text(out, Double.toHexString(m.weight()));
                }
            } else {
                text(out, "completion");
                text(out, e.prompt());
                text(out, e.completion());
            }
        }
    }

    /** A string as its UTF-8 length (decimal, then ':') and bytes: no content can pass for a boundary. */
    private static void text(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeBytes((b.length + ":").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(b);
    }
}
