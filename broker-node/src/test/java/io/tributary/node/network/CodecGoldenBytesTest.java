package io.tributary.node.network;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.handlers.ApiHandler;
import io.tributary.node.handlers.ApiVersionsHandler;
import io.tributary.node.handlers.RequestContext;
import io.tributary.node.metrics.RequestMetrics;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.RequestUtils;
import org.apache.kafka.common.requests.ResponseHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Guards the codec: exact request and response bytes for fixed messages (golden bytes), and every served
 * ApiVersions version read back by kafka-clients' own parser. A kafka-clients upgrade that changes the wire format
 * fails here first.
 */
class CodecGoldenBytesTest {

    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    /** ApiVersions and a Metadata handler that answers a fixed, empty cluster. */
    private RequestDispatcher dispatcher() {
        RequestDispatcher[] self = new RequestDispatcher[1];
        ApiHandler metadata = new ApiHandler() {
            @Override
            public ApiKeys apiKey() {
                return ApiKeys.METADATA;
            }

            @Override
            public short minVersion() {
                return 1;
            }

            @Override
            public short maxVersion() {
                return 12;
            }

            @Override
            public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage request) {
                return CompletableFuture.completedFuture(new MetadataResponseData().setClusterId("c").setControllerId(1));
            }
        };
        self[0] = new RequestDispatcher(List.of(new ApiVersionsHandler(() -> self[0].supportedVersions()), metadata),
                executor, RequestMetrics.NONE);
        return self[0];
    }

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private static ByteBuffer frame(String hex) {
        return ByteBuffer.wrap(HexFormat.of().parseHex(hex));
    }

    private static String hex(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private ByteBuffer respond(RequestDispatcher dispatcher, ByteBuffer request) throws Exception {
        RequestDispatcher.Outcome outcome = dispatcher.dispatch(request, "test").get(10, TimeUnit.SECONDS);
        assertThat(outcome.closeConnection()).isFalse();
        ByteBuffer framed = ByteBuffer.allocate((int) outcome.responseBytes());
        outcome.response().forEach(part -> framed.put(((ByteBuffer) part).duplicate()));
        framed.flip();
        assertThat(framed.getInt()).as("size prefix").isEqualTo(framed.remaining());
        return framed.slice();
    }

    @Test
    void apiVersionsV3GoldenBytes() throws Exception {
        // Header v2: api key 18, version 3, correlation id 7, client id "c", no tags; body: compact strings
        // "kcat" and "1.0", no tags.
        String request = "00120003000000070001630005" + "6b636174" + "04" + "312e30" + "00";
        // Header v0 (ApiVersions responses never use a flexible header): correlation id 7.
        // Body: error 0, compact array of 2 (+1) in API key order: [3, 1..12, no tags], [18, 0..4, no tags],
        // throttle 0, no tagged fields (default-valued ones are not written).
        String response = "00000007" + "0000" + "03" + "0003" + "0001" + "000c" + "00" + "0012" + "0000" + "0004"
                + "00" + "00000000" + "00";
        assertThat(hex(respond(dispatcher(), frame(request)))).isEqualTo(response);
    }

    @Test
    void unsupportedApiVersionsVersionGetsV0BodyWithTheServedVersions() throws Exception {
        // ApiVersions v99, correlation id 9, client id "c".
        String request = "00120063000000090001630000";
        String response = "00000009" + "0023" + "00000002" + "0003" + "0001" + "000c" + "0012" + "0000" + "0004";
        assertThat(hex(respond(dispatcher(), frame(request)))).isEqualTo(response);
    }

    @Test
    void everyServedApiVersionsVersionParsesWithKafkaClients() throws Exception {
        RequestDispatcher dispatcher = dispatcher();
        for (short version = 0; version <= 4; version++) {
            RequestHeaderData header = new RequestHeaderData().setRequestApiKey(ApiKeys.API_VERSIONS.id)
                    .setRequestApiVersion(version).setCorrelationId(100 + version).setClientId("oracle");
            ByteBuffer request = RequestUtils.serialize(header, ApiKeys.API_VERSIONS.requestHeaderVersion(version),
                    new ApiVersionsRequestData().setClientSoftwareName("oracle").setClientSoftwareVersion("1"),
                    version);
            ByteBuffer response = respond(dispatcher, request);
            ResponseHeader responseHeader = ResponseHeader.parse(response,
                    ApiKeys.API_VERSIONS.responseHeaderVersion(version));
            assertThat(responseHeader.correlationId()).isEqualTo(100 + version);
            ApiVersionsResponseData data = new ApiVersionsResponseData();
            data.read(new ByteBufferAccessor(response), version);
            assertThat(data.errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(data.apiKeys().find(ApiKeys.METADATA.id).maxVersion()).isEqualTo((short) 12);
            assertThat(response.remaining()).as("v%d response fully consumed", version).isZero();
        }
    }

    @Test
    void unknownApiKeyAndGarbageBodiesCloseTheConnection() throws Exception {
        RequestDispatcher dispatcher = dispatcher();
        assertThat(dispatcher.dispatch(frame("270f0000000000010001630000"), "t").get().closeConnection()).isTrue();
        // Metadata v12 (flexible) with a topics array length claiming far more entries than bytes present.
        assertThat(dispatcher.dispatch(frame("0003000c00000001000163" + "00" + "ffffff7f"), "t").get()
                .closeConnection()).isTrue();
        // A known API this dispatcher does not serve (Produce).
        assertThat(dispatcher.dispatch(frame("00000009000000010001630000"), "t").get().closeConnection()).isTrue();
        assertThat(dispatcher.dispatch(frame("0001"), "t").get().closeConnection()).isTrue();
    }
}
