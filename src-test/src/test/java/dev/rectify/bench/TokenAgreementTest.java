package dev.rectify.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenAgreementTest {
    private static final List<long[]> REF = List.of(new long[] {5, 6, 7}, new long[] {8, 9});

    @Test
    void identicalOutputsAreReportedWithTheirSize() throws Exception {
        List<long[]> peer = TokenAgreement.fromJson(new ObjectMapper().readTree("[[5,6,7],[8,9]]"));
        assertEquals("identical (2 prompts, 5 tokens)", TokenAgreement.describe(REF, peer));
    }

    @Test
    void theFirstDifferingTokenIsNamed() throws Exception {
        List<long[]> peer = TokenAgreement.fromJson(new ObjectMapper().readTree("[[5,6,7],[8,4]]"));
        assertEquals("differ: prompt 1, new token 1: 9 vs 4", TokenAgreement.describe(REF, peer));
    }

    @Test
    void shorterOutputsAndMissingPromptsDiffer() throws Exception {
        assertEquals(
                "differ: prompt 0 has 3 vs 2 new tokens",
                TokenAgreement.describe(REF, TokenAgreement.fromJson(new ObjectMapper().readTree("[[5,6],[8,9]]"))));
        assertEquals(
                "different prompt counts: 2 vs 1",
                TokenAgreement.describe(REF, TokenAgreement.fromJson(new ObjectMapper().readTree("[[5,6,7]]"))));
    }

    @Test
    void aPeerWithoutOutputsIsAnError() throws Exception {
        assertThrows(
                IllegalArgumentException.class,
                () -> TokenAgreement.fromJson(new ObjectMapper().readTree("{}").path("outputs")));
    }
}
