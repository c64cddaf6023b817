package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 10, at the node's default {@code broker.session.timeout.ms} (3 s) and {@code broker.heartbeat.interval.ms}
 * (500 ms): pausing the controller node fences it alone.
 */
class ControllerPauseIT {
    private static final Duration SESSION_TIMEOUT = Duration.ofMillis(3_000);
    /** An election, the session timeout and room for a busy 2-core machine. */
    private static final Duration FENCE_DEADLINE = Duration.ofSeconds(20);
    /** The session timeout, a heartbeat's delay and one commit, with room for a busy machine. */
    private static final Duration FENCE_WITHOUT_ELECTION = SESSION_TIMEOUT.multipliedBy(3);

    @RegisterExtension
    static final ClusterProcesses cluster = ClusterProcesses.atDefaultTimeouts(3, 3, Map.of());

    @BeforeEach
    void allNodesRunning() {
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
    }

    /**
     * Issue 10: a controller node that goes silent without closing its connections (SIGSTOP, like a long GC pause
     * or a cut-off host) is replaced, and the new controller fences that node alone. The other brokers' heartbeats
     * were held by the silent node for Ratis' 5 s request timeout, longer than the session, so the new controller
     * heard from nobody and fenced every broker, itself included: every partition went offline until the old
     * controller came back (harness, pause and partition nemeses).
     */
    @RepeatedTest(2)
    void aPausedControllerNodeIsFencedAloneAndTheOtherBrokersStayUnfenced() {
        // Given a whole cluster and its controller
        int paused = cluster.controllerId();
        Set<Integer> others = new TreeSet<>(cluster.ids());
        others.remove(paused);

        // When the controller node is SIGSTOPped
        long pausedAt = System.nanoTime();
        cluster.pause(paused);

        // Then the others agree on a new controller among them, which fences the paused node,
        Set<Integer> wronglyFenced = new TreeSet<>();
        await("a new controller among " + others + " fencing node " + paused)
                .atMost(FENCE_DEADLINE)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> assertThat(cluster.describeClusterFromEvery()).allSatisfy((id, view) -> {
                    view.fencedBrokers().stream().filter(others::contains).forEach(wronglyFenced::add);
                    assertThat(view.controllerId()).as("controller per node %d", id).isIn(others);
                    assertThat(view.fencedBrokers()).as("fenced brokers per node %d", id).contains(paused);
                }));
        System.out.printf("ControllerPauseIT: paused controller %d fenced %d ms after SIGSTOP%n", paused,
                Duration.ofNanos(System.nanoTime() - pausedAt).toMillis());

        // and for three more sessions while it stays paused, neither fences nor lists as fenced any other broker
        long watchUntil = System.nanoTime() + 3 * SESSION_TIMEOUT.toNanos();
        await("three sessions watched").atMost(FENCE_DEADLINE).pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .until(() -> {
                    cluster.describeClusterFromEvery().values().forEach(view ->
                            view.fencedBrokers().stream().filter(others::contains).forEach(wronglyFenced::add));
                    return System.nanoTime() - watchUntil > 0;
                });
        assertThat(wronglyFenced).as("live brokers fenced while controller %d was paused", paused).isEmpty();
    }

    /**
     * A controller node that was paused while it led, resumed, and leads again commits while another node is paused.
     * In the harness (pause, seed 7, at f972785) such a controller's commits went through a Ratis client whose stream
     * to its own server had closed when it stepped down: each failed at once and was retried at another voter, then
     * paused, for Ratis' 5 s request timeout. A fence decided on time was committed only when that node came back,
     * and every acks=all write waited for its whole 9.5 s pause though it led nothing.
     */
    @RepeatedTest(2)
    void aControllerPausedResumedAndElectedAgainFencesAnotherPausedNodeInTime() {
        // Given a controller that was paused while it led and resumed: each controller in turn is paused until
        // another is elected, then resumed, until the one elected is one of those (at most three rounds)
        Set<Integer> resumed = new TreeSet<>();
        int controller = cluster.controllerId();
        while (!resumed.contains(controller)) {
            cluster.pause(controller);
            awaitControllerAmong(others(controller));
            cluster.resume(controller);
            resumed.add(controller);
            controller = cluster.controllerId();
        }
        int other = others(controller).iterator().next();

        // When another node is paused
        long pausedAt = System.nanoTime();
        cluster.pause(other);

        // Then the controller fences it as it would any node: no election stands in the way, only the session
        awaitFencedBy(other, others(other), FENCE_WITHOUT_ELECTION);
        System.out.printf("ControllerPauseIT: node %d fenced by controller %d (paused and resumed before) %d ms after "
                + "SIGSTOP%n", other, controller, Duration.ofNanos(System.nanoTime() - pausedAt).toMillis());
    }

    private Set<Integer> others(int... excluded) {
        Set<Integer> others = new TreeSet<>(cluster.ids());
        for (int id : excluded) {
            others.remove(id);
        }
        return others;
    }

    /** Waits until every responding node names a controller among {@code others}. */
    private void awaitControllerAmong(Set<Integer> others) {
        await("a controller among " + others)
                .atMost(FENCE_DEADLINE)
                .pollInterval(Duration.ofMillis(50))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> assertThat(cluster.describeClusterFromEvery()).allSatisfy((id, view) ->
                        assertThat(view.controllerId()).as("controller per node %d", id).isIn(others)));
    }

    /** Waits until every node but the paused one names a controller among {@code others} that fenced it. */
    private void awaitFencedBy(int paused, Set<Integer> others, Duration deadline) {
        await("a controller among " + others + " fencing node " + paused)
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> assertThat(cluster.describeClusterFromEvery()).allSatisfy((id, view) -> {
                    assertThat(view.controllerId()).as("controller per node %d", id).isIn(others);
                    assertThat(view.fencedBrokers()).as("fenced brokers per node %d", id).contains(paused);
                }));
    }
}
