package dev.rectify.cli;

import dev.rectify.core.RectifyException;
import dev.rectify.train.TrainingProgress;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/** The demo's PNG plots (XChart, headless): training curves, accuracy by method, token-probability histograms. */
public final class Charts {
    /** Bucket edges of the token-probability histogram (as in the DFT paper's analysis, plus deciles). */
    public static final double[] EDGES = {0, 1e-4, 1e-3, 1e-2, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0000001};

    private Charts() {
    }

    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** Training objective and plain NLL per step, one series per method, two panels side by side in one file each. */
    public static void trainingCurves(Map<String, List<TrainingProgress>> histories, Path lossFile, Path nllFile) {
        XYChart loss = xy("Training objective per step", "optimizer step", "objective (SFT: NLL, DFT: -sg(p) log p)");
        XYChart nll = xy("Training NLL per step", "optimizer step", "mean token NLL");
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
                loss.addSeries(e.getKey(), x, l);
                nll.addSeries(e.getKey() + " (train)", x, n);
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
                nll.addSeries(e.getKey() + " (held-out)", ex, en);
            }
        }
        loss.getStyler().setYAxisLogarithmic(true);
        save(loss, lossFile);
        save(nll, nllFile);
    }

    /** Exact-match accuracy per method (series) and evaluation set (categories). */
    public static void accuracy(Map<String, Map<String, Double>> byMethod, Path file) {
        CategoryChart c = new CategoryChartBuilder().width(900).height(560).title("Exact-match accuracy by method")
                .xAxisTitle("evaluation set").yAxisTitle("exact match").build();
        var st = c.getStyler();
        st.setLabelsVisible(true);
        st.setLegendPosition(Styler.LegendPosition.InsideNE);
        st.setYAxisMin(0.0);
        st.setYAxisMax(1.0);
        st.setChartBackgroundColor(Color.WHITE);
        st.setDecimalPattern("0.00");
        for (var e : byMethod.entrySet()) {
            c.addSeries(e.getKey(), new ArrayList<>(e.getValue().keySet()), new ArrayList<>(e.getValue().values()));
        }
        save(c, file);
    }

    /** Share of target tokens per probability bucket, one series per model. */
    public static void tokenProbabilities(Map<String, double[]> probabilities, Path file) {
        CategoryChart c = new CategoryChartBuilder().width(1100).height(560)
                .title("Probability of the demonstrated token (training completions)")
                .xAxisTitle("token probability bucket").yAxisTitle("share of target tokens").build();
        var st = c.getStyler();
        st.setLegendPosition(Styler.LegendPosition.InsideNW);
        st.setChartBackgroundColor(Color.WHITE);
        st.setDecimalPattern("0.00");
        st.setXAxisLabelRotation(30);
        List<String> labels = new ArrayList<>();
        for (int i = 0; i + 1 < EDGES.length; i++) {
            labels.add(label(EDGES[i]) + "-" + label(Math.min(1, EDGES[i + 1])));
        }
        for (var e : probabilities.entrySet()) {
            c.addSeries(e.getKey(), labels, histogram(e.getValue()));
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

    private static XYChart xy(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle(x).yAxisTitle(y).build();
        var st = c.getStyler();
        st.setLegendPosition(Styler.LegendPosition.InsideNE);
        st.setChartBackgroundColor(Color.WHITE);
        st.setMarkerSize(3);
        return c;
    }

    private static void save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) {
        try {
            BitmapEncoder.saveBitmap(chart, file.toString().replaceFirst("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new RectifyException("cannot write plot " + file + ": " + e.getMessage(), e);
        }
    }

    /** Insertion-ordered map helper. */
    static <K, V> Map<K, V> ordered() {
        return new LinkedHashMap<>();
    }
}
