package io.tributary.node.metrics;

import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tributary.node.group.GroupService;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import java.io.Closeable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's meters, in one Micrometer Prometheus registry; meter names are the constants below (Prometheus
 * style once exported: {@code tributary_group_lag} etc.). Group gauges are refreshed every few seconds from the
 * coordinators of this node: lag is the partition's high watermark, as this node's replica knows it, minus the
 * group's committed offset.
 *
 * <p>Threads: one refresher thread; scraping may happen on any thread.
 */
public final class NodeMetrics implements Closeable {

    public static final String GROUP_LAG = "tributary.group.lag";
    public static final String GROUP_STATE = "tributary.group.state";
    public static final String PARTITION_HIGH_WATERMARK = "tributary.partition.high.watermark";
    public static final String PARTITION_LOG_END_OFFSET = "tributary.partition.log.end.offset";
    private static final Logger log = LoggerFactory.getLogger(NodeMetrics.class);
    private static final long REFRESH_MS = 2_000;

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ReplicaManager replicas;
    private final GroupService groups;
    private final MultiGauge groupLag;
    private final MultiGauge groupState;
    private final MultiGauge highWatermarks;
    private final MultiGauge logEndOffsets;
    private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "metrics-refresh");
        t.setDaemon(true);
        return t;
    });

    public NodeMetrics(int nodeId, ReplicaManager replicas, GroupService groups) {
        this.replicas = replicas;
        this.groups = groups;
        registry.config().commonTags("node", Integer.toString(nodeId));
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        groupLag = MultiGauge.builder(GROUP_LAG).description("records between a group's committed offset and the "
                + "high watermark, per partition, for groups this node coordinates").baseUnit("records")
                .register(registry);
        groupState = MultiGauge.builder(GROUP_STATE).description("1 for the current state of each group this node "
                + "coordinates").register(registry);
        highWatermarks = MultiGauge.builder(PARTITION_HIGH_WATERMARK)
                .description("high watermark of each partition replica on this node").register(registry);
        logEndOffsets = MultiGauge.builder(PARTITION_LOG_END_OFFSET)
                .description("log end offset of each partition replica on this node").register(registry);
        refresher.scheduleWithFixedDelay(this::refresh, 0, REFRESH_MS, TimeUnit.MILLISECONDS);
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    private void refresh() {
        try {
            Map<TopicPartition, Long> hw = new HashMap<>();
            List<MultiGauge.Row<?>> hwRows = new ArrayList<>();
            List<MultiGauge.Row<?>> leoRows = new ArrayList<>();
            for (Partition p : replicas.partitions()) {
                PartitionId id = p.id();
                Tags tags = Tags.of("topic", id.topic(), "partition", Integer.toString(id.partition()));
                long high = p.highWatermark();
                long end = p.log().logEndOffset();
                hw.put(new TopicPartition(id.topic(), id.partition()), high);
                hwRows.add(MultiGauge.Row.of(tags, high));
                leoRows.add(MultiGauge.Row.of(tags, end));
            }
            highWatermarks.register(hwRows, true);
            logEndOffsets.register(leoRows, true);
            Map<String, GroupService.GroupSnapshot> snapshot = groups.snapshot().get(5, TimeUnit.SECONDS);
            List<MultiGauge.Row<?>> lagRows = new ArrayList<>();
            List<MultiGauge.Row<?>> stateRows = new ArrayList<>();
            snapshot.forEach((group, s) -> {
                stateRows.add(MultiGauge.Row.of(Tags.of("group", group, "state", s.state()), 1));
                s.committedOffsets().forEach((tp, committed) -> {
                    Long high = hw.get(tp);
                    if (high != null) {
                        lagRows.add(MultiGauge.Row.of(Tags.of("group", group, "topic", tp.topic(), "partition",
                                Integer.toString(tp.partition())), Math.max(0, high - committed)));
                    }
                });
            });
            groupLag.register(lagRows, true);
            groupState.register(stateRows, true);
        } catch (Exception e) {
            log.debug("metrics refresh failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        refresher.shutdownNow();
        registry.close();
    }
}
