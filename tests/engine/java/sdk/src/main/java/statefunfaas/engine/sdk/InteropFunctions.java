package statefunfaas.engine.sdk;

import com.example.xlang.generated.SensorReport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.statefun.sdk.java.AddressScopedStorage;
import org.apache.flink.statefun.sdk.java.Context;
import org.apache.flink.statefun.sdk.java.StatefulFunctionSpec;
import org.apache.flink.statefun.sdk.java.StatefulFunctions;
import org.apache.flink.statefun.sdk.java.TypeName;
import org.apache.flink.statefun.sdk.java.ValueSpec;
import org.apache.flink.statefun.sdk.java.io.KafkaEgressMessage;
import org.apache.flink.statefun.sdk.java.message.EgressMessage;
import org.apache.flink.statefun.sdk.java.message.Message;
import org.apache.flink.statefun.sdk.java.message.MessageBuilder;
import org.apache.flink.statefun.sdk.java.types.SimpleType;
import org.apache.flink.statefun.sdk.java.types.Type;

/**
 * The cross-language functions on the Java SDK: {@code interop/keeper} and {@code
 * interop/peer-java}, with the typenames and state specs of tests/engine/interop_functions.py
 * (which says what they do). The Kafka egress topic is {@code $INTEROP_OUT_TOPIC}.
 */
public final class InteropFunctions {

  static final String LANGUAGE = "java";
  static final TypeName KEEPER = TypeName.typeNameFromString("interop/keeper");
  static final TypeName PEER = TypeName.typeNameFromString("interop/peer-" + LANGUAGE);
  static final TypeName EGRESS = TypeName.typeNameFromString("interop/out");
  static final Duration TTL = Duration.ofSeconds(6);

  private static final ObjectMapper JSON = new ObjectMapper();

  static final Type<JsonNode> COMMAND = jsonType("interop/Command");
  static final Type<JsonNode> PROFILE = jsonType("interop/Profile");
  static final Type<SensorReport> REPORT =
      SimpleType.simpleImmutableTypeFrom(
          TypeName.typeNameFromString(
              "type.googleapis.com/" + SensorReport.getDescriptor().getFullName()),
          SensorReport::toByteArray,
          SensorReport::parseFrom);

  static final ValueSpec<Integer> COUNT = ValueSpec.named("count").withIntType();
  static final ValueSpec<String> LOG = ValueSpec.named("log").withUtf8StringType();
  static final ValueSpec<JsonNode> PROFILE_STATE =
      ValueSpec.named("profile").withCustomType(PROFILE);
  static final ValueSpec<SensorReport> REPORT_STATE =
      ValueSpec.named("report").withCustomType(REPORT);
  static final ValueSpec<String> RECENT =
      ValueSpec.named("recent").thatExpireAfterWrite(TTL).withUtf8StringType();
  static final ValueSpec<Integer> SEEN =
      ValueSpec.named("seen").thatExpiresAfterCall(TTL).withIntType();

  private InteropFunctions() {}

  static StatefulFunctions functions() {
    return new StatefulFunctions()
        .withStatefulFunction(
            StatefulFunctionSpec.builder(KEEPER)
                .withValueSpecs(COUNT, LOG, PROFILE_STATE, REPORT_STATE, RECENT, SEEN)
                .withSupplier(() -> InteropFunctions::keeper))
        .withStatefulFunction(
            StatefulFunctionSpec.builder(PEER).withSupplier(() -> InteropFunctions::peer));
  }

  private static Type<JsonNode> jsonType(String typename) {
    return SimpleType.simpleTypeFrom(
        TypeName.typeNameFromString(typename), JSON::writeValueAsBytes, JSON::readTree);
  }

  private static CompletableFuture<Void> keeper(Context context, Message message)
      throws Exception {
    JsonNode command = message.as(COMMAND);
    AddressScopedStorage storage = context.storage();
    String id = context.self().id();
    Optional<Integer> count = storage.get(COUNT);
    Optional<String> log = storage.get(LOG);
    Optional<JsonNode> profile = storage.get(PROFILE_STATE);
    Optional<SensorReport> report = storage.get(REPORT_STATE);
    ObjectNode read = JSON.createObjectNode();
    read.set("count", json(count.orElse(null)));
    read.set("log", json(log.orElse(null)));
    read.set("profile", profile.orElse(NullNode.getInstance()));
    read.set("report", report.<JsonNode>map(InteropFunctions::reportJson).orElse(NullNode.getInstance()));
    read.set("recent", json(storage.get(RECENT).orElse(null)));
    read.set("seen", json(storage.get(SEEN).orElse(null)));

    String text = command.get("text").asText();
    int newCount = count.orElse(0) + 1;
    String newLog = log.map(old -> old + " ").orElse("") + LANGUAGE + ":" + text;
    ObjectNode newProfile = JSON.createObjectNode();
    newProfile.put("name", id);
    ArrayNode writers = newProfile.putArray("writers");
    profile.ifPresent(old -> writers.addAll((ArrayNode) old.get("writers")));
    writers.add(LANGUAGE);
    newProfile.put("last", text);
    newProfile.put("score", newCount * 0.5);
    long readings = report.map(old -> old.getReadings() + 1).orElse(1L);
    SensorReport newReport =
        SensorReport.newBuilder()
            .setSensor(id)
            .setReadings(readings)
            .setCelsius(report.map(old -> old.getCelsius() + 0.25).orElse(20.0))
            .setTakenAt(
                Timestamp.newBuilder()
                    .setSeconds(
                        report.map(old -> old.getTakenAt().getSeconds() + 60).orElse(1_700_000_000L))
                    .setNanos((int) ((readings * 125_000_000L) % 1_000_000_000L)))
            .build();
    storage.set(COUNT, newCount);
    storage.set(LOG, newLog);
    storage.set(PROFILE_STATE, newProfile);
    storage.set(REPORT_STATE, newReport);
    storage.set(RECENT, text);
    storage.set(SEEN, newCount);

    ObjectNode wrote = JSON.createObjectNode();
    wrote.put("count", newCount);
    wrote.put("log", newLog);
    wrote.set("profile", newProfile);
    wrote.set("report", reportJson(newReport));
    wrote.put("recent", text);
    wrote.put("seen", newCount);
    ObjectNode record = JSON.createObjectNode();
    record.put("by", LANGUAGE);
    record.put("id", id);
    record.set("read", read);
    record.set("wrote", wrote);
    context.send(out(id, record));

    TypeName target = TypeName.typeNameFromString(command.get("peer").asText());
    context.send(MessageBuilder.forAddress(target, id).withValue(newCount).build());
    context.send(MessageBuilder.forAddress(target, id).withValue(text).build());
    context.send(MessageBuilder.forAddress(target, id).withCustomType(PROFILE, newProfile).build());
    context.send(MessageBuilder.forAddress(target, id).withCustomType(REPORT, newReport).build());
    return context.done();
  }

  private static CompletableFuture<Void> peer(Context context, Message message) throws Exception {
    JsonNode value;
    if (message.isInt()) {
      value = json(message.asInt());
    } else if (message.isUtf8String()) {
      value = json(message.asUtf8String());
    } else if (message.is(PROFILE)) {
      value = message.as(PROFILE);
    } else if (message.is(REPORT)) {
      value = reportJson(message.as(REPORT));
    } else {
      throw new IllegalArgumentException(PEER + ": no type for " + message.valueTypeName());
    }
    String id = context.self().id();
    ObjectNode record = JSON.createObjectNode();
    record.put("by", LANGUAGE);
    record.put("id", id);
    record.set(
        "caller",
        json(
            context
                .caller()
                .map(caller -> caller.type().asTypeNameString() + "/" + caller.id())
                .orElse(null)));
    record.put("typename", message.valueTypeName().asTypeNameString());
    record.set("value", value);
    context.send(out(id, record));
    return context.done();
  }

  private static ObjectNode reportJson(SensorReport report) {
    ObjectNode node = JSON.createObjectNode();
    node.put("sensor", report.getSensor());
    node.put("celsius", report.getCelsius());
    node.put("readings", report.getReadings());
    ObjectNode taken = node.putObject("taken_at");
    taken.put("seconds", report.getTakenAt().getSeconds());
    taken.put("nanos", report.getTakenAt().getNanos());
    return node;
  }

  private static JsonNode json(Object value) {
    return value == null ? NullNode.getInstance() : JSON.valueToTree(value);
  }

  private static EgressMessage out(String id, JsonNode record) throws Exception {
    String topic = System.getenv().getOrDefault("INTEROP_OUT_TOPIC", "interop-out");
    return KafkaEgressMessage.forEgress(EGRESS)
        .withTopic(topic)
        .withUtf8Key(id)
        .withUtf8Value(JSON.writeValueAsString(record))
        .build();
  }
}
