package dev.rectify.langchain4j;

import dev.langchain4j.exception.UnsupportedFeatureException;

/**
 * A LangChain4j request asked for something a Rectify model cannot do (tools, a JSON response format, penalties,
 * images, another model's name): {@link #parameter()} names it. Thrown by {@link RectifyChatModel}, handed to
 * {@code onError} by {@link RectifyStreamingChatModel}.
 */
public class UnsupportedParameterException extends UnsupportedFeatureException {
    private final String parameter;

    public UnsupportedParameterException(String parameter, String message) {
        super(parameter + ": " + message);
        this.parameter = parameter;
    }

    /** The request parameter or message part that is not supported, e.g. {@code toolSpecifications}. */
    public String parameter() {
        return parameter;
    }
}
