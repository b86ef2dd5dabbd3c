package io.buildgateway.scanning;

import java.util.HashMap;
import java.util.Map;

/** CVSS v3.0/v3.1 base scores from a vector string, by the specification's formulas (section 7.1). */
final class Cvss {

    private Cvss() {
    }

    /** The base score (0.0–10.0), or -1 for a vector that is not a complete CVSS v3 base vector. */
    static double baseScore(String vector) {
        if (vector == null || !vector.startsWith("CVSS:3.")) {
            return -1;
        }
        Map<String, String> m = new HashMap<>();
        for (String part : vector.split("/")) {
            int colon = part.indexOf(':');
            if (colon > 0) {
                m.put(part.substring(0, colon), part.substring(colon + 1));
            }
        }
        boolean changed = "C".equals(m.get("S"));
        double av = value(m.get("AV"), "N", 0.85, "A", 0.62, "L", 0.55, "P", 0.2);
        double ac = value(m.get("AC"), "L", 0.77, "H", 0.44);
        double pr = value(m.get("PR"), "N", 0.85, "L", changed ? 0.68 : 0.62, "H", changed ? 0.5 : 0.27);
        double ui = value(m.get("UI"), "N", 0.85, "R", 0.62);
        double c = value(m.get("C"), "H", 0.56, "L", 0.22, "N", 0);
        double i = value(m.get("I"), "H", 0.56, "L", 0.22, "N", 0);
        double a = value(m.get("A"), "H", 0.56, "L", 0.22, "N", 0);
        if (av < 0 || ac < 0 || pr < 0 || ui < 0 || c < 0 || i < 0 || a < 0 || m.get("S") == null) {
            return -1;
        }
        double iss = 1 - (1 - c) * (1 - i) * (1 - a);
        double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
        double exploitability = 8.22 * av * ac * pr * ui;
        if (impact <= 0) {
            return 0;
        }
        return roundUp(Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10));
    }

    /** The qualitative rating of a score (CVSS v3 section 5). */
    static String rating(double score) {
        if (score >= 9.0) {
            return "critical";
        } else if (score >= 7.0) {
            return "high";
        } else if (score >= 4.0) {
            return "medium";
        } else if (score > 0) {
            return "low";
        }
        return score == 0 ? "none" : "unknown";
    }

    /** CVSS 3.1's Roundup: the smallest one-decimal number not below x, robust to floating-point noise. */
    static double roundUp(double x) {
        long i = Math.round(x * 100000);
        return i % 10000 == 0 ? i / 100000.0 : (Math.floor(i / 10000.0) + 1) / 10.0;
    }

    private static double value(String v, Object... pairs) {
        for (int k = 0; k < pairs.length; k += 2) {
            if (pairs[k].equals(v)) {
                return ((Number) pairs[k + 1]).doubleValue();
            }
        }
        return -1;
    }
}
