package io.tributary.node.group;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.Uuid;

/**
 * A server-side assignor of KIP-848 consumer groups ({@code group.consumer.assignors}): from the members'
 * subscriptions, the subscribed topics' partition counts and the previous target assignment, the next target
 * assignment. Pure functions, deterministic (members and topics are iterated in sorted order).
 */
public sealed interface ConsumerGroupAssignor {

    String name();

    /**
     * @param subscriptions member id -> the ids of the existing topics it subscribes to
     * @param partitionCounts topic id -> its partition count (every subscribed existing topic)
     * @param previous member id -> its previous target assignment (members missing here had none)
     * @return member id -> its new target assignment, an entry for every member (possibly empty)
     */
    Map<String, SortedMap<Uuid, SortedSet<Integer>>> assign(SortedMap<String, Set<Uuid>> subscriptions,
            Map<Uuid, Integer> partitionCounts, Map<String, SortedMap<Uuid, SortedSet<Integer>>> previous);

    /** The assignor named {@code name}, or null if there is none by that name. */
    static ConsumerGroupAssignor named(String name) {
        return switch (name) {
            case Uniform.NAME -> new Uniform();
            case Range.NAME -> new Range();
            default -> null;
        };
    }

    /**
     * Kafka's {@code uniform}: every partition of a subscribed topic goes to one subscriber, the counts per member
     * as even as the subscriptions allow, and a partition stays with its previous owner where that keeps the balance
     * (sticky: few partitions move when members come and go). Steps: keep each member's still-valid previous
     * partitions; give each unassigned partition to the eligible member with the fewest; then move partitions from
     * the most loaded member to an eligible member with at least two fewer until none can move (each move lowers the
     * sum of squared counts, so this ends).
     */
    record Uniform() implements ConsumerGroupAssignor {
        static final String NAME = "uniform";

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public Map<String, SortedMap<Uuid, SortedSet<Integer>>> assign(SortedMap<String, Set<Uuid>> subscriptions,
                Map<Uuid, Integer> partitionCounts, Map<String, SortedMap<Uuid, SortedSet<Integer>>> previous) {
            Map<String, TreeMap<Uuid, TreeSet<Integer>>> result = new TreeMap<>();
            Map<String, Integer> counts = new HashMap<>();
            Map<Uuid, Set<Integer>> taken = new HashMap<>();
            subscriptions.keySet().forEach(m -> {
                result.put(m, new TreeMap<>());
                counts.put(m, 0);
            });
            // 1. Sticky: previous partitions that are still valid stay.
            for (Map.Entry<String, Set<Uuid>> e : subscriptions.entrySet()) {
                String member = e.getKey();
                previous.getOrDefault(member, new TreeMap<>()).forEach((topic, partitions) -> {
                    Integer count = partitionCounts.get(topic);
                    if (count == null || !e.getValue().contains(topic)) {
                        return;
                    }
                    for (int p : partitions) {
                        if (p < count && taken.computeIfAbsent(topic, t -> new TreeSet<>()).add(p)) {
                            add(result, counts, member, topic, p);
                        }
                    }
                });
            }
            // 2. Unassigned partitions to the least loaded subscriber.
            Map<Uuid, List<String>> subscribers = subscribers(subscriptions);
            for (Uuid topic : new TreeSet<>(partitionCounts.keySet())) {
                List<String> eligible = subscribers.getOrDefault(topic, List.of());
                if (eligible.isEmpty()) {
                    continue;
                }
                for (int p = 0; p < partitionCounts.get(topic); p++) {
                    if (taken.computeIfAbsent(topic, t -> new TreeSet<>()).contains(p)) {
                        continue;
                    }
                    String to = eligible.stream().min(Comparator.comparing(counts::get)).orElseThrow();
                    taken.get(topic).add(p);
                    add(result, counts, to, topic, p);
                }
            }
            // 3. Balance.
            boolean moved = true;
            while (moved) {
                moved = false;
                List<String> byLoad = new ArrayList<>(counts.keySet());
                byLoad.sort(Comparator.comparing((String m) -> -counts.get(m)).thenComparing(m -> m));
                outer:
                for (String from : byLoad) {
                    for (Map.Entry<Uuid, TreeSet<Integer>> owned : result.get(from).entrySet()) {
                        String to = null;
                        for (String candidate : subscribers.getOrDefault(owned.getKey(), List.of())) {
                            if (counts.get(candidate) < counts.get(from) - 1
                                    && (to == null || counts.get(candidate) < counts.get(to))) {
                                to = candidate;
                            }
                        }
                        if (to != null) {
                            int p = owned.getValue().last();
                            remove(result, counts, from, owned.getKey(), p);
                            add(result, counts, to, owned.getKey(), p);
                            moved = true;
                            break outer;
                        }
                    }
                }
            }
            return frozen(result);
        }
    }

    /**
     * Kafka's {@code range}: per topic, its subscribers in member id order each get a contiguous range of
     * partitions, the first {@code partitions % subscribers} one more (co-partitioned topics land together).
     */
    record Range() implements ConsumerGroupAssignor {
        static final String NAME = "range";

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public Map<String, SortedMap<Uuid, SortedSet<Integer>>> assign(SortedMap<String, Set<Uuid>> subscriptions,
                Map<Uuid, Integer> partitionCounts, Map<String, SortedMap<Uuid, SortedSet<Integer>>> previous) {
            Map<String, TreeMap<Uuid, TreeSet<Integer>>> result = new TreeMap<>();
            Map<String, Integer> counts = new HashMap<>();
            subscriptions.keySet().forEach(m -> {
                result.put(m, new TreeMap<>());
                counts.put(m, 0);
            });
            subscribers(subscriptions).forEach((topic, members) -> {
                Integer count = partitionCounts.get(topic);
                if (count == null) {
                    return;
                }
                int each = count / members.size();
                int extra = count % members.size();
                int next = 0;
                for (int i = 0; i < members.size(); i++) {
                    int n = each + (i < extra ? 1 : 0);
                    for (int p = next; p < next + n; p++) {
                        add(result, counts, members.get(i), topic, p);
                    }
                    next += n;
                }
            });
            return frozen(result);
        }
    }

    private static Map<Uuid, List<String>> subscribers(SortedMap<String, Set<Uuid>> subscriptions) {
        Map<Uuid, List<String>> subscribers = new TreeMap<>();
        subscriptions.forEach((member, topics) -> topics.forEach(
                t -> subscribers.computeIfAbsent(t, x -> new ArrayList<>()).add(member)));
        return subscribers;
    }

    private static void add(Map<String, TreeMap<Uuid, TreeSet<Integer>>> result, Map<String, Integer> counts,
            String member, Uuid topic, int partition) {
        result.get(member).computeIfAbsent(topic, t -> new TreeSet<>()).add(partition);
        counts.merge(member, 1, Integer::sum);
    }

    private static void remove(Map<String, TreeMap<Uuid, TreeSet<Integer>>> result, Map<String, Integer> counts,
            String member, Uuid topic, int partition) {
        TreeSet<Integer> partitions = result.get(member).get(topic);
        partitions.remove(partition);
        if (partitions.isEmpty()) {
            result.get(member).remove(topic);
        }
        counts.merge(member, -1, Integer::sum);
    }

    private static Map<String, SortedMap<Uuid, SortedSet<Integer>>> frozen(
            Map<String, TreeMap<Uuid, TreeSet<Integer>>> result) {
        Map<String, SortedMap<Uuid, SortedSet<Integer>>> out = new TreeMap<>();
        result.forEach((m, a) -> out.put(m, ConsumerGroupRecord.copy(a)));
        return out;
    }
}
