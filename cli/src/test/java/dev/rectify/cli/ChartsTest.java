package dev.rectify.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plots' fixed method colours, the curve smoothing, and the log-scale histogram with empty buckets. */
class ChartsTest {
    @Test
    void aMethodHasOneColourInEveryFigureAndMethodsDiffer() {
        assertEquals(Charts.colour("DFT"), Charts.colour("dft"));
        assertEquals(Charts.colour("DFT"), Charts.colour("DFT (train)"));
        assertEquals(Charts.colour("SFT"), Charts.colour("SFT (held-out)"));
        assertEquals(Charts.colour("dft-clamped:0.1"), Charts.colour("dft-clamped"));
        assertEquals(Charts.colour("lora-full-xyz"), Charts.colour("lora-full-xyz (train)"));
        assertNotEquals(Charts.colour("SFT"), Charts.colour("DFT"));
        assertNotEquals(Charts.colour("base"), Charts.colour("DFT"));
        assertNotEquals(Charts.colour("base"), Charts.colour("SFT"));
    }

    @Test
    void smoothingIsADebiasedMovingAverage() {
        List<Double> flat = new ArrayList<>();
        List<Double> noisy = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            flat.add(3.0);
            noisy.add(i % 2 == 0 ? 1.0 : 3.0);
        }
        for (double v : Charts.smooth(flat)) {
            assertEquals(3.0, v, 1e-12, "a constant stays constant, from the first step (bias correction)");
        }
        List<Double> s = Charts.smooth(noisy);
        assertEquals(1.0, s.get(0), 1e-12);
        double swing = Math.abs(s.get(199) - s.get(198));
        assertTrue(swing < 0.25, "smoothed swing " + swing + " of a raw swing of 2");
        assertEquals(2.0, (s.get(199) + s.get(198)) / 2, 0.05);
        assertEquals(List.of(5.0), Charts.smooth(List.of(5.0)));
    }

    @Test
    void histogramWithEmptyBucketsDrawsOnALogAxis(@TempDir Path dir) throws Exception {
        Map<String, double[]> probs = new LinkedHashMap<>();
        probs.put("base", new double[] {0.05, 0.5, 0.5, 0.95});
        probs.put("DFT", new double[] {0.99, 0.999, 0.97, 0.9999});
        Path file = dir.resolve("token_probabilities.png");
        Charts.tokenProbabilities(probs, file);
        BufferedImage img = ImageIO.read(file.toFile());
        assertEquals(1100, img.getWidth());
        int dft = Charts.colour("DFT").getRGB() & 0xffffff;
        int base = Charts.colour("base").getRGB() & 0xffffff;
        boolean sawDft = false;
        boolean sawBase = false;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                sawDft |= rgb == dft;
                sawBase |= rgb == base;
            }
        }
        assertTrue(sawDft && sawBase, "bars in the methods' colours");
    }
}
