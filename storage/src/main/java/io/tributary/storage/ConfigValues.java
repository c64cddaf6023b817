package io.tributary.storage;

import java.util.Map;
import java.util.function.Function;

/** Parsing and range checks of Kafka topic config values, shared by {@link LogConfig} and {@link CompactionConfig}. */
final class ConfigValues {

    private ConfigValues() {
    }

    static void require(boolean ok, String key, String rule, Object value) {
        if (!ok) {
            throw new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + rule);
        }
    }

    static long longValue(Map<String, String> configs, String key, long current) {
        return parse(configs, key, current, Long::parseLong, "a 64-bit integer");
    }

    static int intValue(Map<String, String> configs, String key, int current) {
        return parse(configs, key, current, Integer::parseInt, "a 32-bit integer");
    }

    static double doubleValue(Map<String, String> configs, String key, double current) {
        return parse(configs, key, current, Double::parseDouble, "a number");
    }

    private static <T> T parse(Map<String, String> configs, String key, T current, Function<String, T> parser,
            String what) {
        String raw = configs.get(key);
        if (raw == null) {
            return current;
        }
        try {
            return parser.apply(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid value '" + raw + "' for configuration " + key + ": not "
                    + what, e);
        }
    }
}
