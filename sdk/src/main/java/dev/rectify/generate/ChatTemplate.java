package dev.rectify.generate;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.jinja.JinjaTemplate;
import dev.rectify.generate.jinja.TemplateSyntaxException;
import java.time.Clock;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Hugging Face chat template rendered exactly as transformers' {@code apply_chat_template} renders it (Jinja2
 * with trim_blocks, lstrip_blocks, loopcontrols, {@code raise_exception}, {@code strftime_now}, transformers'
 * {@code tojson}). The template sees {@code messages}, {@code tools} and {@code documents} (None unless given),
 * {@code add_generation_prompt}, the special tokens ({@code bos_token}, {@code eos_token}, {@code unk_token},
 * {@code pad_token}, when the tokenizer config has them) and any extra keyword arguments.
 *
 * <p>A template that calls {@code raise_exception(msg)} fails with a
 * {@link dev.rectify.generate.jinja.TemplateRenderException} carrying {@code msg}; a template that is not valid
 * Jinja fails with a {@link TemplateSyntaxException} when first rendered (so the model still opens for raw
 * generation).
 */
public final class ChatTemplate {
    private final String source;
    private final TokenizerConfig config;
    private final Clock clock;
    private final JinjaTemplate compiled;
    private final TemplateSyntaxException syntaxError;

    public ChatTemplate(String source, TokenizerConfig config) {
        this(source, config, Clock.systemDefaultZone());
    }

    /** With {@code clock} as the time {@code strftime_now} reads (fix it for reproducible renders). */
    public ChatTemplate(String source, TokenizerConfig config, Clock clock) {
        if (source == null || source.isBlank()) {
            throw new InvalidArgumentException("empty chat template");
        }
        this.source = source;
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        JinjaTemplate t = null;
        TemplateSyntaxException err = null;
        try {
            t = JinjaTemplate.compile(source);
        } catch (TemplateSyntaxException e) {
            err = e;
        }
        this.compiled = t;
        this.syntaxError = err;
    }

    /**
     * The template named {@code name} in the tokenizer config (e.g. {@code tool_use}), as transformers'
     * {@code chat_template=name} picks it.
     */
    public static ChatTemplate named(TokenizerConfig config, String name, Clock clock) {
        String src = config.chatTemplates().get(name);
        if (src == null) {
            throw new InvalidArgumentException("the tokenizer config has no chat template named '" + name + "' (it has "
                    + config.chatTemplates().keySet() + ")");
        }
        return new ChatTemplate(src, config, clock);
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
        return render(msgs, addGenerationPrompt, Map.of());
    }

    /**
     * Renders messages given as maps (so they may carry {@code tool_calls}, {@code tool_call_id}, structured
     * content) with extra keyword arguments such as {@code tools}, {@code documents} or {@code date_string}. When
     * {@code tools} is given and this is the config's default template, a template named {@code tool_use} is used
     * if the config has one (as transformers does).
     *
     * @throws dev.rectify.generate.jinja.TemplateRenderException when the template raises or fails to evaluate
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        Object tools = extra.get("tools");
        String toolUse = config.chatTemplates().get("tool_use");
        if (tools != null && toolUse != null && source.equals(config.chatTemplate()) && !toolUse.equals(source)) {
            return new ChatTemplate(toolUse, config, clock).render(messages, addGenerationPrompt, extra);
        }
        if (syntaxError != null) {
            throw syntaxError;
        }
        Map<String, Object> vars = new HashMap<>();
        putToken(vars, "bos_token", config.bosToken());
        putToken(vars, "eos_token", config.eosToken());
        putToken(vars, "unk_token", config.unkToken());
        putToken(vars, "pad_token", config.padToken());
        vars.put("tools", null);
        vars.put("documents", null);
        vars.putAll(extra);
        vars.put("messages", messages);
        vars.put("add_generation_prompt", addGenerationPrompt);
        return compiled.render(vars, () -> LocalDateTime.now(clock));
    }

    private static void putToken(Map<String, Object> vars, String name, String token) {
        if (token != null) {
            vars.put(name, token);
        }
    }

    /** The Jinja source. */
    public String source() {
        return source;
    }
}
