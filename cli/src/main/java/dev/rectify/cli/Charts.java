package dev.rectify.cli;

import dev.rectify.core.RectifyException;
import dev.rectify.train.TrainingProgress;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The demo's PNG plots (XChart, headless): training curves, accuracy by method, token-probability histograms. Made
 * to be read at a glance: each method has one colour in every figure ({@link #colour}), training curves are drawn
 * smoothed over their faint raw values, and the histogram's share axis is logarithmic so that small buckets show.
 */
public final class Charts {
    /** Bucket edges of the token-probability histogram (as in the DFT paper's analysis, plus deciles). */
    public static final double[] EDGES = {0, 1e-4, 1e-3, 1e-2, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0000001};

    /** Colours of the methods the demo and experiments compare (Okabe-Ito, readable by colour-blind people). */
    private static final Map<String, Color> METHOD_COLOURS = Map.of(
            "base", new Color(0x6e, 0x6e, 0x6e),
            "sft", new Color(0x00, 0x72, 0xb2),
            "dft", new Color(0xd5, 0x5e, 0x00),
            "dft-clamped", new Color(0x00, 0x9e, 0x73),
            "mix", new Color(0xcc, 0x79, 0xa7));
    /** Colours for any other method, picked by name so a method keeps its colour across figures. */
    private static final Color[] OTHER_COLOURS = {
        new Color(0xe6, 0x9f, 0x00),
        new Color(0x56, 0xb4, 0xe9),
        new Color(0x88, 0x22, 0x55),
        new Color(0x44, 0xaa, 0x99),
        new Color(0x33, 0x22, 0x88)
    };
    /** Alpha of the raw training curves under the smoothed ones. */
    private static final int RAW_ALPHA = 55;
    /** Smallest share drawn on the histogram's logarithmic axis (one token in ten thousand). */
    static final double MIN_SHARE = 1e-4;

    private Charts() {}

    /** The colour of {@code method} (case-insensitive; "DFT (train)" is DFT's) in every figure. */
    public static Color colour(String method) {
        String key =
                method.toLowerCase(Locale.ROOT).replaceFirst("\\s*\\(.*$", "").strip();
        Color c = METHOD_COLOURS.get(key);
        if (c == null && key.startsWith("dft-clamped")) {
            c = METHOD_COLOURS.get("dft-clamped");
        } else if (c == null && key.startsWith("mix")) {
            c = METHOD_COLOURS.get("mix");
        }
        return c != null ? c : OTHER_COLOURS[Math.floorMod(key.hashCode(), OTHER_COLOURS.length)];
    }

    /**
     * Exponential moving average with bias correction (TensorBoard's smoothing), its weight chosen so that it
     * averages over about a tenth of the run (at most 0.9).
     */
    public static List<Double> smooth(List<Double> values) {
        double beta = Math.max(0, Math.min(0.9, 1 - 10.0 / Math.max(1, values.size())));
        List<Double> out = new ArrayList<>(values.size());
        double ema = 0;
        double weight = 0;
        for (double v : values) {
            if (Double.isNaN(v) || Double.isInfinite(v)) {
                out.add(out.isEmpty() ? v : out.get(out.size() - 1));
                continue;
            }
            ema = beta * ema + (1 - beta) * v;
            weight = beta * weight + (1 - beta);
            out.add(ema / weight);
        }
        return out;
    }

    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** Training objective and plain NLL per step, one series per method, two panels side by side in one file each. */
    public static void trainingCurves(Map<String, List<TrainingProgress>> histories, Path lossFile, Path nllFile) {
        XYChart loss = xy(
                "Training objective per step (smoothed; raw values faint)",
                "optimizer step",
                "objective (SFT: NLL, DFT: -sg(p) log p)");
        XYChart nll = xy("Training NLL per step (smoothed; raw values faint)", "optimizer step", "mean token NLL");
        XYChart evalNll = null;
        for (var e : histories.entrySet()) {
            List<Double> x = new ArrayList<>();
            List<Double> l = new ArrayList<>();
            List<Double> n = new ArrayList<>();
            for (TrainingProgress p : e.getValue()) {
                if (p.phase() == TrainingProgress.Phase.TRAIN) {
                    x.add((double) p.step());
                    l.add(p.loss());
                    n.add(p.nll());
                }
            }
            if (!x.isEmpty()) {
                curve(loss, e.getKey(), x, l);
                curve(nll, e.getKey() + " (train)", x, n);
            }
            List<Double> ex = new ArrayList<>();
            List<Double> en = new ArrayList<>();
            for (TrainingProgress p : e.getValue()) {
                if (p.phase() == TrainingProgress.Phase.EVAL && !Double.isNaN(p.evalNll())) {
                    ex.add((double) p.step());
                    en.add(p.evalNll());
                }
            }
            if (!ex.isEmpty()) {
                XYSeries s = nll.addSeries(e.getKey() + " (held-out)", ex, en);
                s.setLineColor(colour(e.getKey()));
                s.setMarkerColor(colour(e.getKey()));
                s.setMarker(SeriesMarkers.DIAMOND);
                s.setLineStyle(SeriesLines.DASH_DASH);
            }
        }
        loss.getStyler().setYAxisLogarithmic(true);
        save(loss, lossFile);
        save(nll, nllFile);
    }

    /** The learning rate per optimizer step, one series per method (the schedule as it ran, warmup included). */
    public static void learningRate(Map<String, List<TrainingProgress>> histories, Path file) {
        XYChart c = xy("Learning rate per optimizer step", "optimizer step", "learning rate");
        c.getStyler().setDecimalPattern("0.0E0");
        for (var e : histories.entrySet()) {
            List<Double> x = new ArrayList<>();
            List<Double> lr = new ArrayList<>();
            for (TrainingProgress p : e.getValue()) {
                if (p.phase() == TrainingProgress.Phase.TRAIN) {
                    x.add((double) p.step());
                    lr.add(p.learningRate());
                }
            }
            if (!x.isEmpty()) {
                XYSeries s = c.addSeries(e.getKey(), x, lr);
                s.setLineColor(colour(e.getKey()));
                s.setLineWidth(2f);
                s.setMarker(SeriesMarkers.NONE);
            }
        }
        save(c, file);
    }

    /** Exact-match accuracy per method (series) and evaluation set (categories). */
    public static void accuracy(Map<String, Map<String, Double>> byMethod, Path file) {
        CategoryChart c = new CategoryChartBuilder()
                .width(900)
                .height(560)
                .title("Exact-match accuracy by method")
                .xAxisTitle("evaluation set")
                .yAxisTitle("exact match")
                .build();
        var st = c.getStyler();
        st.setLabelsVisible(true);
        st.setLegendPosition(Styler.LegendPosition.InsideNE);
        st.setYAxisMin(0.0);
        st.setYAxisMax(1.0);
        st.setChartBackgroundColor(Color.WHITE);
        st.setDecimalPattern("0.00");
        for (var e : byMethod.entrySet()) {
            c.addSeries(
                            e.getKey(),
                            new ArrayList<>(e.getValue().keySet()),
                            new ArrayList<>(e.getValue().values()))
                    .setFillColor(colour(e.getKey()));
        }
        save(c, file);
    }

    /** Share of target tokens per probability bucket, one series per model. */
    public static void tokenProbabilities(Map<String, double[]> probabilities, Path file) {
        Map<String, List<Double>> shares = ordered();
        probabilities.forEach((model, p) -> shares.put(model, histogram(p)));
        tokenProbabilityShares(shares, file);
    }

    /** The same figure from shares already bucketed by {@link #histogram(double[])}, one series per model. */
    public static void tokenProbabilityShares(Map<String, List<Double>> histograms, Path file) {
        CategoryChart c = new CategoryChartBuilder()
                .width(1100)
                .height(560)
                .title("Probability of the demonstrated token (training completions)")
                .xAxisTitle("token probability bucket")
                .yAxisTitle("share of target tokens (log scale)")
                .build();
        var st = c.getStyler();
        st.setYAxisLogarithmic(true);
        st.setYAxisMin(MIN_SHARE);
        st.setYAxisMax(1.0);
        st.setLegendPosition(Styler.LegendPosition.InsideNW);
        st.setChartBackgroundColor(Color.WHITE);
        st.setDecimalPattern("0.####"); // the log axis runs down to 0.0001
        st.setXAxisLabelRotation(30);
        List<String> labels = new ArrayList<>();
        for (int i = 0; i + 1 < EDGES.length; i++) {
            labels.add(label(EDGES[i]) + "-" + label(Math.min(1, EDGES[i + 1])));
        }
        for (var e : histograms.entrySet()) {
            // a log axis has no zero: empty buckets (and those under MIN_SHARE) are drawn at the axis floor
            List<Double> shares =
                    e.getValue().stream().map(v -> Math.max(v, MIN_SHARE)).toList();
            c.addSeries(e.getKey(), labels, shares).setFillColor(colour(e.getKey()));
        }
        save(c, file);
    }

    /** Fraction of values in each bucket of {@link #EDGES}. */
    public static List<Double> histogram(double[] values) {
        double[] counts = new double[EDGES.length - 1];
        for (double v : values) {
            for (int i = 0; i + 1 < EDGES.length; i++) {
                if (v >= EDGES[i] && v < EDGES[i + 1]) {
                    counts[i]++;
                    break;
                }
            }
        }
        List<Double> out = new ArrayList<>();
        for (double c : counts) {
            out.add(values.length == 0 ? 0 : c / values.length);
        }
        return out;
    }

    private static String label(double v) {
        if (v == 0) {
            return "0";
        }
        return v < 0.1 ? String.format("%.0e", v) : String.format("%.1f", v);
    }

    /** The raw curve, faint and out of the legend, under its smoothed version in the method's colour. */
    private static void curve(XYChart chart, String name, List<Double> x, List<Double> y) {
        Color c = colour(name);
        XYSeries raw = chart.addSeries(name + " raw", x, y);
        raw.setLineColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), RAW_ALPHA));
        raw.setLineWidth(1f);
        raw.setMarker(SeriesMarkers.NONE);
        raw.setShowInLegend(false);
        XYSeries smooth = chart.addSeries(name, x, smooth(y));
        smooth.setLineColor(c);
        smooth.setLineWidth(2.5f);
        smooth.setMarker(SeriesMarkers.NONE);
    }

    private static XYChart xy(String title, String x, String y) {
        XYChart c = new XYChartBuilder()
                .width(900)
                .height(560)
                .title(title)
                .xAxisTitle(x)
                .yAxisTitle(y)
                .build();
        var st = c.getStyler();
        st.setLegendPosition(Styler.LegendPosition.InsideNE);
        st.setChartBackgroundColor(Color.WHITE);
        st.setMarkerSize(3);
        return c;
    }

    private static void save(Chart<?, ?> chart, Path file) {
        try {
            BitmapEncoder.saveBitmap(
                    chart, file.toString().replaceFirst("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new RectifyException("cannot write plot " + file + ": " + e.getMessage(), e);
        }
    }

    /** Insertion-ordered map helper. */
    static <K, V> Map<K, V> ordered() {
        return new LinkedHashMap<>();
    }
}
