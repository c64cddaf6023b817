package reliability.txn;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * After heal: waits (at most HANG_WAIT_S) until every partition's last stable offset (read_committed end offset)
 * equals its high watermark (read_uncommitted end offset), then reads every partition from the beginning with
 * read_committed (final-rc.tsv) and read_uncommitted (final-ru.tsv) and checks the history (txns.tsv, reads.tsv).
 *
 * Per transaction, on the final read_committed read: COMMITTED must be wholly visible (none: LOST, some: PARTIAL);
 * ABORTED, and UNKNOWN never asked to commit, must be invisible (ABORTED-VISIBLE, also when a live consumer saw
 * one of its records); UNKNOWN asked to commit must be all or nothing (PARTIAL). Also: duplicated (a value at two
 * offsets), hanging (LSO &lt; HW after the wait), and from the live consumers: phantom (read, absent from the final
 * read_committed read at that offset), missed (a committed record below a consumer's position it never returned),
 * out of order (offsets going back), dirty (read before its transaction was asked to commit); inconsistent (two
 * values at one offset) and unexpected (a value never sent). Every one of these counts as an anomaly.
 */
final class TxnChecker {
    private final Main.Cfg cfg;
    private static final int SAMPLES = 8;

    TxnChecker(Main.Cfg cfg) { this.cfg = cfg; }

    record T(String name, String producer, long seq, int incarnation, int[] parts, boolean abortIntent, String outcome,
             boolean commitRequested, long startMs, long endMs, Map<Integer, Long> offsets, String error) { }

    record Rec(int partition, long offset, String value) { }

    record Event(long ms, String kind, String node) { }

    private final Map<String, Long> counts = new LinkedHashMap<>();
    private final Map<String, List<String>> samples = new LinkedHashMap<>();
    private final List<String> detail = new ArrayList<>();   // every anomaly, one line each -> anomalies.txt

    private void anomaly(String kind, String what) {
        counts.merge(kind, 1L, Long::sum);
        List<String> s = samples.computeIfAbsent(kind, k -> new ArrayList<>());
        if (s.size() < SAMPLES) s.add(what);
        detail.add(kind + "\t" + what);
    }

    private long n(String k) { return counts.getOrDefault(k, 0L); }

    int check(boolean doFinalRead) throws Exception {
        Path dir = cfg.runDir;
        Properties run = new Properties();
        try (BufferedReader r = Files.newBufferedReader(dir.resolve("run.properties"))) { run.load(r); }
        long startMs = Long.parseLong(run.getProperty("start_ms")), prodEndMs = Long.parseLong(run.getProperty("producers_end_ms"));
        String stable;
        boolean complete;
        if (doFinalRead || !Files.exists(dir.resolve("final-rc.tsv"))) {
            stable = waitStable(dir.resolve("stable.txt"));
            complete = finalRead(true, dir.resolve("final-rc.tsv")) & finalRead(false, dir.resolve("final-ru.tsv"));
        } else {
            stable = Files.readString(dir.resolve("stable.txt")).trim();
            complete = Files.readAllLines(dir.resolve("final-rc.tsv")).stream().noneMatch(l -> l.startsWith("#incomplete"))
                    && Files.readAllLines(dir.resolve("final-ru.tsv")).stream().noneMatch(l -> l.startsWith("#incomplete"));
        }
        for (String l : stable.split("\n")) if (l.startsWith("HANGING ")) anomaly("hanging", l.substring(8));

        Map<String, T> txns = loadTxns(dir.resolve("txns.tsv"));
        List<Rec> rc = loadRecs(dir.resolve("final-rc.tsv")), ru = loadRecs(dir.resolve("final-ru.tsv"));
        List<String[]> reads = rows(dir.resolve("reads.tsv"));
        List<Event> events = loadEvents(dir.resolve("nemesis.log"));
        List<String[]> observed = Files.exists(dir.resolve("observer.tsv")) ? rows(dir.resolve("observer.tsv")) : List.of();

        // --- positions and values
        Map<String, Set<String>> rcPos = new HashMap<>(), ruPos = new HashMap<>(), livePos = new HashMap<>();
        Map<String, Set<String>> valuesAt = new HashMap<>();
        Set<String> rcAt = new HashSet<>();                         // "p/off=value" in the final read_committed read
        for (Rec x : rc) { add(rcPos, x.value(), pos(x.partition(), x.offset())); add(valuesAt, pos(x.partition(), x.offset()), x.value()); rcAt.add(pos(x.partition(), x.offset()) + "=" + x.value()); }
        for (Rec x : ru) { add(ruPos, x.value(), pos(x.partition(), x.offset())); add(valuesAt, pos(x.partition(), x.offset()), x.value()); }
        for (String[] f : reads) { add(livePos, f[3], pos(Integer.parseInt(f[1]), Long.parseLong(f[2]))); add(valuesAt, pos(Integer.parseInt(f[1]), Long.parseLong(f[2])), f[3]); }
        for (T t : txns.values()) if (t.outcome().equals(TxnWorkload.COMMITTED)) {
            for (Map.Entry<Integer, Long> e : t.offsets().entrySet()) if (e.getValue() >= 0) add(valuesAt, pos(e.getKey(), e.getValue()), t.name() + ":" + e.getKey());
        }

        // --- per transaction
        long committed = 0, aborted = 0, unknown = 0, unkVisible = 0, unkInvisible = 0, unkNoCommit = 0, abortsWritten = 0;
        Map<String, Long> errors = new TreeMap<>();
        for (T t : txns.values()) {
            int visible = 0, written = 0, seenLive = 0;
            StringBuilder where = new StringBuilder();
            for (int p : t.parts()) {
                String v = t.name() + ":" + p;
                boolean inRc = rcPos.containsKey(v), inRu = ruPos.containsKey(v);
                if (inRc) visible++;
                if (inRu) written++;
                if (livePos.containsKey(v)) seenLive++;
                where.append(String.format(" p%d:rc=%s,ru=%s,acked=%s", p, inRc ? rcPos.get(v) : "-", inRu ? ruPos.get(v) : "-",
                        t.offsets().getOrDefault(p, -1L) >= 0 ? t.offsets().get(p) : "-"));
            }
            String desc = t.name() + " (" + t.producer() + " incarnation " + t.incarnation() + ", " + t.outcome()
                    + (t.error().equals("-") ? "" : " " + t.error()) + ", " + t.startMs() + "-" + t.endMs() + "):" + where;
            int n = t.parts().length;
            boolean mustBeInvisible = t.outcome().equals(TxnWorkload.ABORTED) || !t.commitRequested();
            switch (t.outcome()) {
                case TxnWorkload.COMMITTED -> {
                    committed++;
                    if (visible == 0) anomaly("lost", desc);
                    else if (visible < n) anomaly("partial", desc);
                }
                case TxnWorkload.ABORTED -> { aborted++; if (written > 0) abortsWritten++; }
                default -> {
                    unknown++;
                    errors.merge(t.error(), 1L, Long::sum);
                    if (!t.commitRequested()) unkNoCommit++;
                    else if (visible == 0) unkInvisible++;
                    else if (visible == n) unkVisible++;
                    else anomaly("partial", desc);
                }
            }
            if (mustBeInvisible && (visible > 0 || seenLive > 0)) anomaly("aborted_visible", desc + (seenLive > 0 ? " [seen by live consumers]" : ""));
        }

        // --- duplicates, inconsistent, unexpected
        Map<String, Set<String>> visibleAt = new HashMap<>();
        rcPos.forEach((v, s) -> visibleAt.computeIfAbsent(v, k -> new HashSet<>()).addAll(s));
        livePos.forEach((v, s) -> visibleAt.computeIfAbsent(v, k -> new HashSet<>()).addAll(s));
        for (Map.Entry<String, Set<String>> e : visibleAt.entrySet()) if (e.getValue().size() > 1) anomaly("duplicated", e.getKey() + " at " + e.getValue());
        long ruDup = ruPos.values().stream().filter(s -> s.size() > 1).count();
        for (Map.Entry<String, Set<String>> e : valuesAt.entrySet()) if (e.getValue().size() > 1) anomaly("inconsistent", e.getKey() + " holds " + e.getValue());
        Set<String> allValues = new HashSet<>(ruPos.keySet());
        allValues.addAll(rcPos.keySet());
        allValues.addAll(livePos.keySet());
        for (String v : allValues) {
            T t = txns.get(TxnWorkload.txnOf(v));
            int p = v.indexOf(':') < 0 ? -1 : Integer.parseInt(v.substring(v.indexOf(':') + 1));
            if (t == null || Arrays.stream(t.parts()).noneMatch(x -> x == p)) anomaly("unexpected", v + " at " + visibleAt.getOrDefault(v, ruPos.get(v)));
        }

        // --- live consumers: phantom, dirty, out of order, missed
        Map<String, Long> lastOff = new HashMap<>();                 // consumer/partition -> last offset read
        Map<String, Set<Long>> seenOffs = new HashMap<>();
        for (String[] f : reads) {
            int p = Integer.parseInt(f[1]);
            long off = Long.parseLong(f[2]);
            String cp = f[0] + "/" + p;
            if (!rcAt.contains(pos(p, off) + "=" + f[3])) anomaly("phantom", f[0] + " read " + f[3] + " at " + pos(p, off) + " at " + f[4] + "; final read_committed: " + rcPos.getOrDefault(f[3], Set.of()));
            if (f[5].equals("1")) {
                T t = txns.get(TxnWorkload.txnOf(f[3]));
                boolean reqLater = t != null && t.commitRequested();    // else already counted as aborted_visible
                if (reqLater) anomaly("dirty", f[0] + " read " + f[3] + " at " + pos(p, off) + " at " + f[4] + " before " + t.name() + " was asked to commit");
            }
            Long prev = lastOff.put(cp, off);
            if (prev != null && off <= prev) anomaly("out_of_order", f[0] + " partition " + p + ": offset " + prev + " then " + off);
            seenOffs.computeIfAbsent(cp, k -> new HashSet<>()).add(off);
        }
        for (Map.Entry<String, Long> e : lastOff.entrySet()) {
            String[] cp = e.getKey().split("/");
            int p = Integer.parseInt(cp[1]);
            Set<Long> seen = seenOffs.get(e.getKey());
            for (Rec x : rc) {
                if (x.partition() == p && x.offset() < e.getValue() && !seen.contains(x.offset())) {
                    anomaly("missed", cp[0] + " read partition " + p + " past offset " + x.offset() + " but never returned " + x.value());
                }
            }
        }

        // --- availability: commits over time, stall per fault
        long[] commits = txns.values().stream().filter(t -> t.outcome().equals(TxnWorkload.COMMITTED)).mapToLong(T::endMs).sorted().toArray();
        long[] unknowns = txns.values().stream().filter(t -> t.outcome().equals(TxnWorkload.UNKNOWN)).mapToLong(T::endMs).sorted().toArray();
        double seconds = Math.max(1, prodEndMs - startMs) / 1000.0;
        int nw = (int) Math.ceil(seconds);
        long[] perSec = new long[nw];
        for (long c : commits) { int i = (int) ((c - startMs) / 1000); if (i >= 0 && i < nw) perSec[i]++; }
        long[] sortedSec = perSec.clone();
        Arrays.sort(sortedSec);
        long medianPerSec = nw == 0 ? 0 : sortedSec[nw / 2];
        long zeroSec = Arrays.stream(perSec).filter(x -> x == 0).count();
        long gap = 0, gapAt = 0, prevC = startMs;
        for (long c : commits) { if (c - prevC > gap) { gap = c - prevC; gapAt = prevC; } prevC = c; }
        if (prodEndMs - prevC > gap) { gap = prodEndMs - prevC; gapAt = prevC; }
        List<Event> faults = events.stream().filter(e -> e.kind().equals("kill") || e.kind().equals("pause") || e.kind().equals("isolate")).toList();
        List<long[]> stalls = new ArrayList<>();
        StringBuilder stallText = new StringBuilder();
        for (Event e : faults) {
            String healKind = switch (e.kind()) { case "kill" -> "start"; case "pause" -> "resume"; default -> "heal"; };
            long heal = events.stream().filter(h -> h.ms() >= e.ms() && h.kind().equals(healKind) && (healKind.equals("heal") || h.node().equals(e.node())))
                    .mapToLong(Event::ms).findFirst().orElse(prodEndMs);
            long[] s = stall(commits, e.ms(), heal, prodEndMs);
            stalls.add(s);
            stallText.append(String.format(Locale.ROOT, " %s(n%s)@%ds%s:%.1fs%s", e.kind(), e.node(), (e.ms() - startMs) / 1000,
                    roles(observed, e), s[0] / 1000.0, s[1] == Long.MIN_VALUE ? "" : String.format(Locale.ROOT, "[%+.1f]", (s[1] - heal) / 1000.0)));
        }
        long[] st = stalls.stream().mapToLong(x -> x[0]).sorted().toArray();
        long medStall = st.length == 0 ? -1 : st[st.length / 2], maxStall = st.length == 0 ? -1 : st[st.length - 1];

        long safety = 0;
        String[] kinds = {"lost", "partial", "aborted_visible", "duplicated", "hanging", "phantom", "missed", "out_of_order", "dirty", "inconsistent", "unexpected"};
        for (String k : kinds) safety += n(k);
        boolean valid = complete && safety == 0;

        // --- report
        String system = Main.Cfg.env("SYSTEM", "?"), version = Main.Cfg.env("SYSTEM_VERSION", system), nemesis = Main.Cfg.env("NEMESIS", "?");
        StringBuilder b = new StringBuilder();
        b.append(String.format("== transactions under faults: %s, nemesis %s, %s s, seed %s ==%n", version, nemesis, run.getProperty("duration_s"), run.getProperty("seed")));
        b.append(String.format("   %s producers (txn-p0..), <= %s txn/s each, %s of %s partitions per txn, every %s. aborted; %s read_committed consumers;"
                        + " transaction.timeout.ms %s, max.block.ms %s%n", run.getProperty("producers"), run.getProperty("rate"), run.getProperty("partitions_per_txn"),
                run.getProperty("partitions"), run.getProperty("abort_every"), run.getProperty("consumers"), run.getProperty("txn_timeout_ms"), run.getProperty("max_block_ms")));
        Map<String, Integer> fc = new TreeMap<>();
        for (Event e : faults) fc.merge(e.kind(), 1, Integer::sum);
        b.append("   faults: ").append(fc.isEmpty() ? "none" : fc.toString()).append('\n');
        b.append(String.format("   transactions: %d, committed %d, aborted %d (records written by %d of them), unknown %d (asked to commit: visible %d,"
                        + " invisible %d; never asked: %d); producer instances %s; errors %s%n", txns.size(), committed, aborted, abortsWritten, unknown,
                unkVisible, unkInvisible, unkNoCommit, run.getProperty("incarnations"), run.getProperty("errors")));
        b.append("   ").append(stable.replace("\n", "\n   ")).append('\n');
        b.append(String.format("   final read: read_committed %d records, read_uncommitted %d records (values at 2+ offsets there: %d), %s;"
                + " live consumers read %d records (consumer errors %s)%n", rc.size(), ru.size(), ruDup, complete ? "complete" : "INCOMPLETE",
                reads.size(), run.getProperty("consumer_errors")));
        b.append(String.format("   anomalies: lost %d, partial %d, aborted-visible %d, duplicated %d, hanging %d | live consumers: phantom %d, missed %d,"
                        + " out-of-order %d, dirty %d | inconsistent %d, unexpected %d%n", n("lost"), n("partial"), n("aborted_visible"), n("duplicated"),
                n("hanging"), n("phantom"), n("missed"), n("out_of_order"), n("dirty"), n("inconsistent"), n("unexpected")));
        for (Map.Entry<String, List<String>> e : samples.entrySet()) {
            b.append("   ").append(e.getKey().toUpperCase(Locale.ROOT)).append(" (").append(n(e.getKey())).append("), e.g.:\n");
            for (String s : e.getValue()) b.append("      ").append(s).append('\n');
        }
        b.append(String.format(Locale.ROOT, "   availability: %.1f commits/s (median per second %d, seconds without a commit %d/%d), longest gap %.1f s at %d s%n",
                commits.length / seconds, medianPerSec, zeroSec, nw, gap / 1000.0, (gapAt - startMs) / 1000));
        if (!faults.isEmpty()) b.append(String.format(Locale.ROOT, "   stall per fault (longest time without a commit from the fault to its heal;"
                + " [first commit after it vs heal, s]): median %.1f s, max %.1f s;%s%n", medStall / 1000.0, maxStall / 1000.0, stallText));
        b.append(timeline(perSec, medianPerSec, unknowns, events, startMs, nw));
        if (!complete) b.append("RESULT: UNKNOWN - the final read did not complete\n");
        else if (valid) b.append("RESULT: VALID - no transactional anomaly\n");
        else b.append("RESULT: INVALID - ").append(counts).append(" (all of them: anomalies.txt)\n");

        StringBuilder j = new StringBuilder("{");
        j.append(kv("workload", "txn")).append(',').append(kv("system", system)).append(',').append(kv("version", version)).append(',')
         .append(kv("nemesis", nemesis)).append(",\"duration_s\":").append(run.getProperty("duration_s")).append(',').append(kv("seed", run.getProperty("seed")))
         .append(",\"valid\":").append(valid).append(",\"final_read_complete\":").append(complete).append(",\"faults\":{");
        boolean first = true;
        for (Map.Entry<String, Integer> e : fc.entrySet()) { j.append(first ? "" : ",").append('"').append(e.getKey()).append("\":").append(e.getValue()); first = false; }
        j.append("},\"txns\":").append(txns.size()).append(",\"committed\":").append(committed).append(",\"aborted\":").append(aborted)
         .append(",\"unknown\":").append(unknown).append(",\"unknown_visible\":").append(unkVisible).append(",\"unknown_invisible\":").append(unkInvisible)
         .append(",\"unknown_never_asked_to_commit\":").append(unkNoCommit).append(",\"anomalies\":{");
        first = true;
        for (String k : kinds) { j.append(first ? "" : ",").append('"').append(k).append("\":").append(n(k)); first = false; }
        j.append(String.format(Locale.ROOT, "},\"commits_per_s\":%.2f,\"seconds_without_commit\":%d,\"longest_gap_ms\":%d", commits.length / seconds, zeroSec, gap))
         .append(",\"fault_stall_ms\":").append(Arrays.toString(stalls.stream().mapToLong(x -> x[0]).toArray()).replace(" ", ""))
         .append(",\"median_fault_stall_ms\":").append(medStall).append(",\"max_fault_stall_ms\":").append(maxStall)
         .append(',').append(kv("run_dir", dir.toString())).append('}');

        Files.write(dir.resolve("anomalies.txt"), detail);
        Files.writeString(dir.resolve("summary.json"), j + "\n");
        Files.writeString(dir.resolve("summary.txt"), b.toString() + j + "\n");
        System.out.print(b);
        System.out.println(j);
        if (!complete) return 2;
        return valid ? 0 : 1;
    }

    // ---------------------------------------------------------------- stable offsets, final reads

    private List<TopicPartition> tps() {
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < cfg.partitions; i++) tps.add(new TopicPartition(cfg.topic, i));
        return tps;
    }

    /** Waits until LSO == HW on every partition; returns "stable ..." or "HANGING ..." lines (also written to out). */
    private String waitStable(Path out) throws Exception {
        long t0 = System.currentTimeMillis(), deadline = t0 + cfg.hangWaitS * 1000L;
        List<TopicPartition> tps = tps();
        Map<TopicPartition, Long> lso = Map.of(), hw = Map.of();
        String why = "";
        try (KafkaConsumer<String, String> rc = new KafkaConsumer<>(cfg.consumerProps("stable-rc", true));
             KafkaConsumer<String, String> ru = new KafkaConsumer<>(cfg.consumerProps("stable-ru", false))) {
            while (System.currentTimeMillis() < deadline) {
                try {
                    hw = ru.endOffsets(tps, Duration.ofSeconds(10));
                    lso = rc.endOffsets(tps, Duration.ofSeconds(10));
                    boolean all = true;
                    for (TopicPartition tp : tps) all &= lso(tp, hw, lso);
                    if (all) {
                        String s = String.format("stable: LSO == HW on all %d partitions %d ms after the check began (HW %s)", tps.size(),
                                System.currentTimeMillis() - t0, offsets(hw));
                        Files.writeString(out, s + "\n");
                        System.out.println(s);
                        return s;
                    }
                } catch (Exception e) { why = e.toString(); }
                Thread.sleep(1000);
            }
        }
        StringBuilder s = new StringBuilder(String.format("NOT stable after %d s: LSO %s, HW %s%s", cfg.hangWaitS, offsets(lso), offsets(hw),
                why.isEmpty() ? "" : " (" + why + ")"));
        for (TopicPartition tp : tps) {
            if (hw.containsKey(tp) && lso.containsKey(tp) && !lso(tp, hw, lso)) {
                s.append(String.format("%nHANGING partition %d: LSO %d < HW %d", tp.partition(), lso.get(tp), hw.get(tp)));
            }
        }
        if (hw.isEmpty() || lso.isEmpty()) s.append("\nHANGING offsets unknown: ").append(why);
        try (Admin a = Admin.create(cfg.adminProps())) {
            for (TransactionListing l : a.listTransactions().all().get(5, TimeUnit.SECONDS)) {
                s.append(String.format("%n   transaction %s producer id %d: %s", l.transactionalId(), l.producerId(), l.state()));
                try {
                    var d = a.describeTransactions(List.of(l.transactionalId())).description(l.transactionalId()).get(5, TimeUnit.SECONDS);
                    s.append(String.format(" epoch %d coordinator %d partitions %s", d.producerEpoch(), d.coordinatorId(), d.topicPartitions()));
                } catch (Exception e) { s.append(" (describe: ").append(e.getMessage()).append(')'); }
            }
        } catch (Exception e) { s.append("\n   listTransactions: ").append(e); }
        Files.writeString(out, s + "\n");
        System.out.println(s);
        return s.toString();
    }

    private static boolean lso(TopicPartition tp, Map<TopicPartition, Long> hw, Map<TopicPartition, Long> lso) {
        return lso.get(tp) != null && lso.get(tp).equals(hw.get(tp));
    }

    private static String offsets(Map<TopicPartition, Long> m) {
        Map<Integer, Long> s = new TreeMap<>();
        m.forEach((tp, o) -> s.put(tp.partition(), o));
        return s.toString();
    }

    /** Reads every partition from the beginning up to its end offset for that isolation level (LSO or HW). */
    private boolean finalRead(boolean readCommitted, Path out) throws Exception {
        long deadline = System.currentTimeMillis() + cfg.finalReadTimeoutS * 1000L, n = 0;
        boolean complete = false;
        String why = "";
        List<TopicPartition> tps = tps();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cfg.consumerProps(readCommitted ? "final-rc" : "final-ru", readCommitted));
             PrintWriter w = new PrintWriter(Files.newBufferedWriter(out))) {
            w.println("partition\toffset\tvalue");
            Map<TopicPartition, Long> end = null;
            while (end == null && System.currentTimeMillis() < deadline) {
                try { end = c.endOffsets(tps, Duration.ofSeconds(10)); } catch (Exception e) { why = e.toString(); Thread.sleep(1000); }
            }
            if (end != null) {
                c.assign(tps);
                c.seekToBeginning(tps);
                while (System.currentTimeMillis() < deadline) {
                    boolean done = true;
                    try {
                        for (TopicPartition tp : tps) if (c.position(tp, Duration.ofSeconds(10)) < end.get(tp)) { done = false; break; }
                    } catch (Exception e) { done = false; why = e.toString(); }
                    if (done) { complete = true; break; }
                    try {
                        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                            w.println(r.partition() + "\t" + r.offset() + "\t" + r.value());
                            n++;
                        }
                    } catch (Exception e) { why = e.toString(); Thread.sleep(500); }
                }
            }
            if (!complete) w.println("#incomplete\t" + why);
            System.out.printf("final read %s: %d records up to %s, %s%n", readCommitted ? "read_committed" : "read_uncommitted", n,
                    end == null ? "?" : offsets(end), complete ? "complete" : "INCOMPLETE (" + why + ")");
        }
        return complete;
    }

    // ---------------------------------------------------------------- loading, helpers

    private static List<String[]> rows(Path p) throws IOException {
        List<String[]> out = new ArrayList<>();
        List<String> l = Files.readAllLines(p);
        for (int i = 1; i < l.size(); i++) if (!l.get(i).startsWith("#")) out.add(l.get(i).split("\t", -1));
        return out;
    }

    private static Map<String, T> loadTxns(Path p) throws IOException {
        Map<String, T> out = new LinkedHashMap<>();
        for (String[] f : rows(p)) {
            int[] parts = Arrays.stream(f[4].split(",")).mapToInt(Integer::parseInt).toArray();
            Map<Integer, Long> offs = new HashMap<>();
            for (String o : f[10].split(",")) { String[] x = o.split("/"); offs.put(Integer.parseInt(x[0]), Long.parseLong(x[1])); }
            out.put(f[0], new T(f[0], f[1], Long.parseLong(f[2]), Integer.parseInt(f[3]), parts, f[5].equals("abort"), f[6], f[7].equals("1"),
                    Long.parseLong(f[8]), Long.parseLong(f[9]), offs, f[11]));
        }
        return out;
    }

    private static List<Rec> loadRecs(Path p) throws IOException {
        List<Rec> out = new ArrayList<>();
        for (String[] f : rows(p)) out.add(new Rec(Integer.parseInt(f[0]), Long.parseLong(f[1]), f[2]));
        return out;
    }

    /** nemesis.log (written by the shared lib/nemesis.sh): ms TAB kind TAB node TAB detail. */
    private static List<Event> loadEvents(Path p) throws IOException {
        List<Event> out = new ArrayList<>();
        if (!Files.exists(p)) return out;
        for (String l : Files.readAllLines(p)) {
            String[] f = l.split("\t", -1);
            if (f.length < 2 || !f[0].matches("\\d+")) continue;
            out.add(new Event(Long.parseLong(f[0]), f[1], f.length > 2 ? f[2] : ""));
        }
        return out;
    }

    /** "[leads p1,p4; coordinator of txn-p0]": the faulted node's roles, per the last observation before the fault. */
    private static String roles(List<String[]> observed, Event e) {
        Map<String, String> state = new TreeMap<>();
        for (String[] f : observed) if (Long.parseLong(f[0]) <= e.ms()) state.put(f[1], f[2]);
        if (state.isEmpty()) return "";
        List<String> leads = new ArrayList<>(), coords = new ArrayList<>();
        state.forEach((k, v) -> {
            if (!v.equals(e.node())) return;
            if (k.startsWith("coord:")) coords.add(k.substring(6)); else leads.add(k);
        });
        return "[" + (leads.isEmpty() ? "leads none" : "leads " + String.join(",", leads))
                + (coords.isEmpty() ? "" : "; coordinator of " + String.join(",", coords)) + "]";
    }

    /**
     * {longest interval without a commit that overlaps [fault, heal], counted from the fault at the earliest (the
     * intervals between consecutive commits from the fault on, up to the first commit after the heal); the commit that
     * ended it, MIN_VALUE if none did before the producers stopped}.
     */
    private static long[] stall(long[] a, long fault, long heal, long endMs) {
        int i = Arrays.binarySearch(a, fault);
        i = i < 0 ? -i - 1 : i + 1;                           // the first commit after the fault
        long prev = fault, best = 0, bestEnd = Long.MIN_VALUE;
        for (; ; i++) {
            long next = i < a.length ? a[i] : endMs;
            if (next - prev > best) { best = next - prev; bestEnd = i < a.length ? next : Long.MIN_VALUE; }
            if (i >= a.length || next > heal) break;
            prev = next;
        }
        return new long[] {best, bestEnd};
    }

    private static String timeline(long[] perSec, long median, long[] unknowns, List<Event> events, long startMs, int nw) {
        char[] marks = new char[nw], unk = new char[nw];
        Arrays.fill(marks, ' ');
        Arrays.fill(unk, ' ');
        for (long u : unknowns) { int i = (int) ((u - startMs) / 1000); if (i >= 0 && i < nw) unk[i] = 'U'; }
        for (Event e : events) {
            int i = (int) ((e.ms() - startMs) / 1000);
            if (i < 0 || i >= nw) continue;
            char c = switch (e.kind()) {
                case "kill" -> 'K'; case "start" -> 'S'; case "pause" -> 'P'; case "resume" -> 'R'; case "isolate" -> 'I'; case "heal" -> 'H';
                default -> ' ';
            };
            if (c != ' ') marks[i] = marks[i] == ' ' ? c : '*';
        }
        StringBuilder b = new StringBuilder("   timeline, 1 char = 1 s: commits '#' >= half the median per second, '-' fewer, '_' none;"
                + " U an UNKNOWN outcome; nemesis K kill, S start, P pause, R resume, I isolate, H heal, * several\n");
        for (int from = 0; from < nw; from += 100) {
            int to = Math.min(nw, from + 100);
            StringBuilder c = new StringBuilder();
            for (int i = from; i < to; i++) c.append(perSec[i] == 0 ? '_' : perSec[i] * 2 < median ? '-' : '#');
            b.append(String.format("   %-8s %4ds |%s|%n", "commits", from, c));
            b.append(String.format("   %-8s %4ds |%s|%n", "unknown", from, new String(unk, from, to - from)));
            b.append(String.format("   %-8s %4ds |%s|%n", "nemesis", from, new String(marks, from, to - from)));
        }
        return b.toString();
    }

    private static String pos(int p, long off) { return p + "/" + off; }

    private static void add(Map<String, Set<String>> m, String k, String v) { m.computeIfAbsent(k, x -> new HashSet<>()).add(v); }

    private static String kv(String k, String v) { return '"' + k + "\":\"" + String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"") + '"'; }
}
