package dev.rectify.generate;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.InvalidArgumentException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face chat template (Jinja, from {@code tokenizer_config.json}) rendered with Jinjava. The template
 * sees {@code messages} (each with {@code role} and {@code content}), {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token} and {@code raise_exception(msg)}, as in {@code transformers}.
 */
public final class ChatTemplate {
    private final String source;
    private final TokenizerConfig config;
    private final Jinjava jinja;

    public ChatTemplate(String source, TokenizerConfig config) {
        if (source == null || source.isBlank()) {
            throw new InvalidArgumentException("empty chat template");
        }
        this.source = source;
        this.config = config;
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(false).withLstripBlocks(false)
                .withFailOnUnknownTokens(false).build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
    }

    /** Called by templates through {@code raise_exception(message)}. */
    public static String raiseException(String message) {
        throw new InvalidArgumentException("chat template rejected the conversation: " + message);
    }

    /** Renders a conversation; with {@code addGenerationPrompt} the text ends where the assistant's reply starts. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (messages.isEmpty() && !addGenerationPrompt) {
            throw new InvalidArgumentException("a conversation needs at least one message");
        }
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            msgs.add(o);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", config.bosToken() == null ? "" : config.bosToken());
        ctx.put("eos_token", config.eosToken() == null ? "" : config.eosToken());
        RenderResult result;
        try {
            result = jinja.renderForResult(source, ctx);
        } catch (InvalidArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            if (e.getCause() instanceof InvalidArgumentException iae) {
                throw iae;
            }
            throw new InvalidArgumentException("chat template failed: " + e.getMessage(), e);
        }
        for (TemplateError err : result.getErrors()) {
            if (err.getException() != null && findCause(err.getException()) != null) {
                throw findCause(err.getException());
            }
            if (err.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new InvalidArgumentException("chat template failed at line " + err.getLineno() + ": " + err.getMessage());
            }
        }
        return result.getOutput();
    }

    private static InvalidArgumentException findCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof InvalidArgumentException iae) {
                return iae;
            }
        }
        return null;
    }

    /** The Jinja source. */
    public String source() {
        return source;
    }
}
