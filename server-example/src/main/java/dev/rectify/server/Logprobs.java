package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.generate.TokenLogprob;
import dev.rectify.generate.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** A generation's token log-probabilities in OpenAI's two shapes: chat's {@code content} list and completions' arrays. */
final class Logprobs {
    private Logprobs() {}

    /** {@code {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], "refusal": null}}. */
    static ObjectNode chat(List<TokenLogprob> lps, Tokenizer tok) {
        ObjectNode o = Json.object();
        ArrayNode content = o.putArray("content");
        for (TokenLogprob lp : lps) {
            ObjectNode t = entry(tok, lp.tokenId(), lp.logprob());
            ArrayNode top = t.putArray("top_logprobs");
            for (int i = 0; i < lp.topIds().length; i++) {
                top.add(entry(tok, lp.topIds()[i], lp.topLogprobs()[i]));
            }
            content.add(t);
        }
        o.putNull("refusal");
        return o;
    }

    /** {@code {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}}. */
    static ObjectNode completion(List<TokenLogprob> lps, Tokenizer tok) {
        ObjectNode o = Json.object();
        ArrayNode tokens = o.putArray("tokens");
        ArrayNode logprobs = o.putArray("token_logprobs");
        ArrayNode tops = o.putArray("top_logprobs");
        ArrayNode offsets = o.putArray("text_offset");
        int offset = 0;
        for (TokenLogprob lp : lps) {
            String text = text(tok, lp.tokenId());
            tokens.add(text);
            logprobs.add(lp.logprob());
            ObjectNode top = tops.addObject();
            for (int i = 0; i < lp.topIds().length; i++) {
                top.put(text(tok, lp.topIds()[i]), lp.topLogprobs()[i]);
            }
            offsets.add(offset);
            offset += text.length();
        }
        return o;
    }

    private static ObjectNode entry(Tokenizer tok, long id, double logprob) {
        String text = text(tok, id);
        ObjectNode t = Json.object();
        t.put("token", text);
        t.put("logprob", logprob);
        ArrayNode bytes = t.putArray("bytes");
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return t;
    }

    private static String text(Tokenizer tok, long id) {
        return tok.decode(new long[] {id}, false);
    }
}
