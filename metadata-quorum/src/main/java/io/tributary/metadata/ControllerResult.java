package io.tributary.metadata;

import io.tributary.proto.metadata.MetadataRecord;
import java.util.List;

/**
 * A controller decision: the records to commit and what to answer once they are committed. Deciding never changes
 * state; the state changes only when the records are replayed.
 */
public record ControllerResult<T>(List<MetadataRecord> records, T response, ControllerError error, String message) {

    public ControllerResult {
        records = List.copyOf(records);
    }

    public static <T> ControllerResult<T> of(List<MetadataRecord> records, T response) {
        return new ControllerResult<>(records, response, ControllerError.NONE, null);
    }

    public static <T> ControllerResult<T> error(ControllerError error, String message) {
        return new ControllerResult<>(List.of(), null, error, message);
    }

    public boolean failed() {
        return error != ControllerError.NONE;
    }
}
