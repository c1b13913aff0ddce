package dev.rectify.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The blocking chat model on the bundled model: its replies are the SDK's own ({@code TextModel.chat}) for the same
 * messages and sampling, every mapped parameter takes effect, and what Rectify cannot do is refused by name.
 */
class RectifyChatModelTest {
    private static final String QUESTION = "What is 17 + 25?";

    private static RectifyChatModel chatModel() {
        return RectifyChat.newBuilder().model(TinyModel.get()).build();
    }

    private static Generation sdk(List<ChatMessage> messages, Sampling sampling) {
        return TinyModel.get().chat(messages, sampling, t -> {});
    }

    @Test
    void greedyReplyIsTheSdksGreedyGeneration() {
        try (RectifyChatModel chat = chatModel()) {
            ChatResponse r = chat.chat(ChatRequest.builder()
                    .messages(UserMessage.from(QUESTION))
                    .temperature(0.0)
                    .maxOutputTokens(48)
                    .build());
            Generation g =
                    sdk(List.of(ChatMessage.user(QUESTION)), Sampling.greedy().maxNewTokens(48));
            assertFalse(g.text().isBlank());
            assertEquals(g.text(), r.aiMessage().text());
            assertEquals(g.promptTokens(), r.tokenUsage().inputTokenCount());
            assertEquals(g.completionTokens(), r.tokenUsage().outputTokenCount());
            assertEquals(g.promptTokens() + g.completionTokens(), r.tokenUsage().totalTokenCount());
            assertEquals(
                    g.finishReason().openAiName().equals("stop") ? FinishReason.STOP : FinishReason.LENGTH,
                    r.finishReason());
            assertEquals("rectify-tiny", r.modelName());
        }
    }

    @Test
    void unsetParametersTakeTheModelsGenerationConfigAsTheCliDoes() {
        BaseModel base = TinyModel.get();
        try (RectifyChatModel chat = chatModel()) {
            Generation g = sdk(List.of(ChatMessage.user(QUESTION)), base.defaultSampling());
            assertEquals(g.text(), chat.chat(QUESTION));
            assertEquals(
                    base.defaultSampling().maxNewTokens(),
                    chat.defaultRequestParameters().maxOutputTokens());
            assertEquals(0.0, chat.defaultRequestParameters().temperature());
        }
    }

    @Test
    void aConversationWithSystemAndAssistantTurnsIsRenderedByTheChatTemplate() {
        try (RectifyChatModel chat = RectifyChat.newBuilder()
                .model(TinyModel.get())
                .maxOutputTokens(40)
                .build()) {
            ChatResponse r = chat.chat(
                    SystemMessage.from("You add numbers."),
                    UserMessage.from("What is 2 + 3?"),
                    AiMessage.from("Answer: 5"),
                    UserMessage.from(new TextContent("What is 40 "), new TextContent("+ 2?")));
            Generation g = sdk(
                    List.of(
                            ChatMessage.system("You add numbers."),
                            ChatMessage.user("What is 2 + 3?"),
                            ChatMessage.assistant("Answer: 5"),
                            ChatMessage.user("What is 40 + 2?")),
                    Sampling.greedy().maxNewTokens(40));
            assertEquals(g.text(), r.aiMessage().text());
            assertEquals(g.promptTokens(), r.tokenUsage().inputTokenCount());
        }
    }

    @Test
    void samplingParametersAndTheTokenBudgetAreMapped() {
        try (RectifyChatModel chat =
                RectifyChat.newBuilder().model(TinyModel.get()).seed(11).build()) {
            ChatResponse r = chat.chat(ChatRequest.builder()
                    .messages(UserMessage.from(QUESTION))
                    .temperature(4.0)
                    .topK(20)
                    .topP(0.95)
                    .maxOutputTokens(30)
                    .build());
            Generation g = sdk(
                    List.of(ChatMessage.user(QUESTION)),
                    Sampling.sample(4.0).topK(20).topP(0.95).seed(11).maxNewTokens(30));
            assertEquals(g.text(), r.aiMessage().text());
            Generation greedy =
                    sdk(List.of(ChatMessage.user(QUESTION)), Sampling.greedy().maxNewTokens(30));
            assertNotEquals(greedy.text(), r.aiMessage().text(), "temperature 4 must change the reply");
            ChatResponse topOne = chat.chat(ChatRequest.builder()
                    .messages(UserMessage.from(QUESTION))
                    .temperature(4.0)
                    .topK(1)
                    .maxOutputTokens(30)
                    .build());
            assertEquals(greedy.text(), topOne.aiMessage().text(), "top-1 sampling is greedy");

            ChatResponse cut = chat.chat(ChatRequest.builder()
                    .messages(UserMessage.from(QUESTION))
                    .maxOutputTokens(3)
                    .build());
            assertEquals(3, cut.tokenUsage().outputTokenCount());
            assertEquals(FinishReason.LENGTH, cut.finishReason());
        }
    }

    @Test
    void aStopSequenceEndsTheReplyBeforeIt() {
        Generation full =
                sdk(List.of(ChatMessage.user(QUESTION)), Sampling.greedy().maxNewTokens(48));
        String stop =
                full.text().substring(full.text().length() / 2, full.text().length() / 2 + 3);
        try (RectifyChatModel chat = RectifyChat.newBuilder()
                .model(TinyModel.get())
                .stopSequences(List.of(stop))
                .build()) {
            ChatResponse r = chat.chat(ChatRequest.builder()
                    .messages(UserMessage.from(QUESTION))
                    .maxOutputTokens(48)
                    .build());
            assertEquals(
                    full.text().substring(0, full.text().indexOf(stop)),
                    r.aiMessage().text());
            assertEquals(FinishReason.STOP, r.finishReason());
        }
    }

    @Test
    void whatRectifyCannotDoIsRefusedByName() {
        try (RectifyChatModel chat = chatModel()) {
            ToolSpecification tool =
                    ToolSpecification.builder().name("add").description("adds").build();
            assertEquals(
                    "toolSpecifications",
                    assertThrows(
                                    UnsupportedParameterException.class,
                                    () -> chat.chat(ChatRequest.builder()
                                            .messages(UserMessage.from(QUESTION))
                                            .toolSpecifications(tool)
                                            .build()))
                            .parameter());
            assertEquals(
                    "responseFormat",
                    assertThrows(
                                    UnsupportedParameterException.class,
                                    () -> chat.chat(ChatRequest.builder()
                                            .messages(UserMessage.from(QUESTION))
                                            .responseFormat(ResponseFormat.JSON)
                                            .build()))
                            .parameter());
            assertEquals(
                    "frequencyPenalty",
                    assertThrows(
                                    UnsupportedParameterException.class,
                                    () -> chat.chat(ChatRequest.builder()
                                            .messages(UserMessage.from(QUESTION))
                                            .frequencyPenalty(0.5)
                                            .build()))
                            .parameter());
            assertEquals(
                    "modelName",
                    assertThrows(
                                    UnsupportedParameterException.class,
                                    () -> chat.chat(ChatRequest.builder()
                                            .messages(UserMessage.from(QUESTION))
                                            .modelName("gpt-4o")
                                            .build()))
                            .parameter());
            UnsupportedParameterException image = assertThrows(
                    UnsupportedParameterException.class,
                    () -> chat.chat(UserMessage.from(
                            new TextContent("what is this?"), new ImageContent("https://example.com/a.png"))));
            assertEquals("messages[0].contents", image.parameter());
            assertTrue(image.getMessage().contains("IMAGE"), image.getMessage());
            // a value out of range is LangChain4j's invalid request, caused by Rectify's typed error
            InvalidRequestException bad = assertThrows(
                    InvalidRequestException.class,
                    () -> chat.chat(ChatRequest.builder()
                            .messages(UserMessage.from(QUESTION))
                            .temperature(500.0)
                            .build()));
            assertInstanceOf(InvalidArgumentException.class, bad.getCause());
            assertTrue(bad.getMessage().contains("temperature"), bad.getMessage());
        }
    }

    @Test
    void theBuilderChecksEachOptionOnceAndWhenSet() {
        RectifyChat b = RectifyChat.newBuilder().temperature(0.5);
        assertThrows(IllegalStateException.class, () -> b.temperature(0.7));
        assertThrows(
                InvalidArgumentException.class, () -> RectifyChat.newBuilder().topP(0));
        assertThrows(
                InvalidArgumentException.class, () -> RectifyChat.newBuilder().maxOutputTokens(0));
        assertThrows(
                InvalidArgumentException.class, () -> RectifyChat.newBuilder().stopSequences(List.of("")));
        IllegalStateException noModel = assertThrows(IllegalStateException.class, b::build);
        assertTrue(noModel.getMessage().contains("no model"), noModel.getMessage());
    }
}
