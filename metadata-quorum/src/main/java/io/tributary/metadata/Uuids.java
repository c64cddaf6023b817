package io.tributary.metadata;

import io.tributary.proto.metadata.Uuid;
import java.util.UUID;

/** Converts topic ids between {@link UUID} and their protobuf form. */
public final class Uuids {

    private Uuids() {}

    public static UUID fromProto(Uuid id) {
        return new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits());
    }

    public static Uuid toProto(UUID id) {
        return Uuid.newBuilder()
                .setMostSignificantBits(id.getMostSignificantBits())
                .setLeastSignificantBits(id.getLeastSignificantBits())
                .build();
    }
}
