// Our function server on the Go SDK (statefun-sdk-go/v3): interop/keeper and interop/peer-go, with
// the typenames and state specs of tests/engine/interop_functions.py (which says what they do).
//
// Usage: interop-server PORT SENSORS_PROTO_FOLDER. PORT 0 takes any free one; it prints
// "listening on http://127.0.0.1:<port>/" once it listens, then one line per request. The
// SensorReport type is compiled at start from sensors.proto in SENSORS_PROTO_FOLDER (the
// example's, examples/cross_language) and used as a dynamic protobuf message. The Kafka egress
// topic is $INTEROP_OUT_TOPIC.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/apache/flink-statefun/statefun-sdk-go/v3/pkg/statefun"
	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const language = "go"

var (
	keeperType  = statefun.TypeNameFrom("interop/keeper")
	peerType    = statefun.TypeNameFrom("interop/peer-" + language)
	egressType  = statefun.TypeNameFrom("interop/out")
	commandType = statefun.MakeJsonType(statefun.TypeNameFrom("interop/Command"))
	profileType = statefun.MakeJsonType(statefun.TypeNameFrom("interop/Profile"))
	reportType  = statefun.MakeProtobufTypeWithTypeName(
		statefun.TypeNameFrom("type.googleapis.com/example.xlang.SensorReport"))
	ttl = 6 * time.Second

	countSpec   = statefun.ValueSpec{Name: "count", ValueType: statefun.Int32Type}
	logSpec     = statefun.ValueSpec{Name: "log", ValueType: statefun.StringType}
	profileSpec = statefun.ValueSpec{Name: "profile", ValueType: profileType}
	reportSpec  = statefun.ValueSpec{Name: "report", ValueType: reportType}
	recentSpec  = statefun.ValueSpec{
		Name: "recent", ValueType: statefun.StringType, Expiration: statefun.ExpireAfterWrite(ttl)}
	seenSpec = statefun.ValueSpec{
		Name: "seen", ValueType: statefun.Int32Type, Expiration: statefun.ExpireAfterCall(ttl)}
)

type command struct {
	Text string `json:"text"`
	Peer string `json:"peer"`
}

type profile struct {
	Name    string   `json:"name"`
	Writers []string `json:"writers"`
	Last    string   `json:"last"`
	Score   float64  `json:"score"`
}

// sensors holds the SensorReport descriptor and its fields.
type sensors struct {
	report                                             protoreflect.MessageDescriptor
	sensor, celsius, readings, takenAt, seconds, nanos protoreflect.FieldDescriptor
}

func loadSensors(folder string) (*sensors, error) {
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: []string{folder}}),
	}
	files, err := compiler.Compile(context.Background(), "sensors.proto")
	if err != nil {
		return nil, fmt.Errorf("compiling sensors.proto in %s: %w", folder, err)
	}
	report := files[0].Messages().ByName("SensorReport")
	if report == nil {
		return nil, fmt.Errorf("no message SensorReport in %s/sensors.proto", folder)
	}
	fields := report.Fields()
	takenAt := fields.ByName("taken_at")
	timestamp := takenAt.Message().Fields()
	return &sensors{
		report, fields.ByName("sensor"), fields.ByName("celsius"), fields.ByName("readings"), takenAt,
		timestamp.ByName("seconds"), timestamp.ByName("nanos"),
	}, nil
}

func (s *sensors) json(report *dynamicpb.Message) map[string]interface{} {
	taken := report.Get(s.takenAt).Message()
	return map[string]interface{}{
		"sensor":   report.Get(s.sensor).String(),
		"celsius":  report.Get(s.celsius).Float(),
		"readings": report.Get(s.readings).Int(),
		"taken_at": map[string]interface{}{"seconds": taken.Get(s.seconds).Int(), "nanos": taken.Get(s.nanos).Int()},
	}
}

func (s *sensors) keeper(ctx statefun.Context, message statefun.Message) error {
	var cmd command
	if err := message.As(commandType, &cmd); err != nil {
		return fmt.Errorf("%s takes an interop/Command: %w", keeperType, err)
	}
	storage, id := ctx.Storage(), ctx.Self().Id
	var count, seen int32
	var log, recent string
	var prof profile
	report := dynamicpb.NewMessage(s.report)
	read := map[string]interface{}{}
	hasCount := storage.Get(countSpec, &count)
	read["count"] = optional(hasCount, count)
	hasLog := storage.Get(logSpec, &log)
	read["log"] = optional(hasLog, log)
	hasProfile := storage.Get(profileSpec, &prof)
	read["profile"] = optional(hasProfile, prof)
	hasReport := storage.Get(reportSpec, report)
	read["report"] = optional(hasReport, s.json(report))
	read["recent"] = optional(storage.Get(recentSpec, &recent), recent)
	read["seen"] = optional(storage.Get(seenSpec, &seen), seen)

	count++
	if hasLog && log != "" {
		log += " "
	}
	log += language + ":" + cmd.Text
	writers := append([]string{}, prof.Writers...)
	newProfile := profile{Name: id, Writers: append(writers, language), Last: cmd.Text, Score: float64(count) * 0.5}
	newReport := dynamicpb.NewMessage(s.report)
	newReport.Set(s.sensor, protoreflect.ValueOfString(id))
	readings, celsius, seconds := int64(1), 20.0, int64(1_700_000_000)
	if hasReport {
		taken := report.Get(s.takenAt).Message()
		readings = report.Get(s.readings).Int() + 1
		celsius = report.Get(s.celsius).Float() + 0.25
		seconds = taken.Get(s.seconds).Int() + 60
	}
	newReport.Set(s.readings, protoreflect.ValueOfInt64(readings))
	newReport.Set(s.celsius, protoreflect.ValueOfFloat64(celsius))
	taken := newReport.Mutable(s.takenAt).Message()
	taken.Set(s.seconds, protoreflect.ValueOfInt64(seconds))
	taken.Set(s.nanos, protoreflect.ValueOfInt32(int32((readings*125_000_000)%1_000_000_000)))
	storage.Set(countSpec, count)
	storage.Set(logSpec, log)
	storage.Set(profileSpec, newProfile)
	storage.Set(reportSpec, newReport)
	storage.Set(recentSpec, cmd.Text)
	storage.Set(seenSpec, count)

	wrote := map[string]interface{}{
		"count": count, "log": log, "profile": newProfile, "report": s.json(newReport),
		"recent": cmd.Text, "seen": count,
	}
	if err := out(ctx, id, map[string]interface{}{"by": language, "id": id, "read": read, "wrote": wrote}); err != nil {
		return err
	}
	target := statefun.Address{FunctionType: statefun.TypeNameFrom(cmd.Peer), Id: id}
	ctx.Send(statefun.MessageBuilder{Target: target, Value: count})
	ctx.Send(statefun.MessageBuilder{Target: target, Value: cmd.Text})
	ctx.Send(statefun.MessageBuilder{Target: target, Value: newProfile, ValueType: profileType})
	ctx.Send(statefun.MessageBuilder{Target: target, Value: newReport, ValueType: reportType})
	return nil
}

func (s *sensors) peer(ctx statefun.Context, message statefun.Message) error {
	var value interface{}
	switch {
	case message.IsInt32():
		value = message.AsInt32()
	case message.IsString():
		value = message.AsString()
	case message.Is(profileType):
		var found profile
		if err := message.As(profileType, &found); err != nil {
			return err
		}
		value = found
	case message.Is(reportType):
		found := dynamicpb.NewMessage(s.report)
		if err := message.As(reportType, found); err != nil {
			return err
		}
		value = s.json(found)
	default:
		return fmt.Errorf("%s: no type for %s", peerType, message.ValueTypeName())
	}
	var caller interface{}
	if from := ctx.Caller(); from != nil {
		caller = from.FunctionType.String() + "/" + from.Id
	}
	id := ctx.Self().Id
	record := map[string]interface{}{
		"by": language, "id": id, "caller": caller, "typename": message.ValueTypeName().String(), "value": value,
	}
	return out(ctx, id, record)
}

func optional(present bool, value interface{}) interface{} {
	if !present {
		return nil
	}
	return value
}

func out(ctx statefun.Context, id string, record map[string]interface{}) error {
	text, err := json.Marshal(record)
	if err != nil {
		return err
	}
	topic := os.Getenv("INTEROP_OUT_TOPIC")
	if topic == "" {
		topic = "interop-out"
	}
	ctx.SendEgress(statefun.KafkaEgressBuilder{Target: egressType, Topic: topic, Key: id, Value: string(text)})
	return nil
}

// logged prints one line per request: method, path and the status the SDK's handler answered.
type logged struct {
	handler http.Handler
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (l logged) ServeHTTP(writer http.ResponseWriter, request *http.Request) {
	recorder := &statusWriter{writer, http.StatusOK}
	l.handler.ServeHTTP(recorder, request)
	fmt.Printf("%s %s %d\n", request.Method, request.URL.Path, recorder.status)
}

func main() {
	if len(os.Args) != 3 {
		log.Fatalf("usage: %s PORT SENSORS_PROTO_FOLDER", os.Args[0])
	}
	s, err := loadSensors(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	functions := statefun.StatefulFunctionsBuilder()
	keeper := statefun.StatefulFunctionSpec{
		FunctionType: keeperType,
		States:       []statefun.ValueSpec{countSpec, logSpec, profileSpec, reportSpec, recentSpec, seenSpec},
		Function:     statefun.StatefulFunctionPointer(s.keeper),
	}
	peer := statefun.StatefulFunctionSpec{FunctionType: peerType, Function: statefun.StatefulFunctionPointer(s.peer)}
	for _, spec := range []statefun.StatefulFunctionSpec{keeper, peer} {
		if err := functions.WithSpec(spec); err != nil {
			log.Fatal(err)
		}
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on http://127.0.0.1:%d/\n", listener.Addr().(*net.TCPAddr).Port)
	log.Fatal(http.Serve(listener, logged{functions.AsHandler()}))
}
