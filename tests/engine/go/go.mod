module statefunfaas.test/interop

go 1.23

require (
	github.com/apache/flink-statefun/statefun-sdk-go/v3 v3.3.0
	github.com/bufbuild/protocompile v0.14.1
	google.golang.org/protobuf v1.36.12
)

require golang.org/x/sync v0.8.0 // indirect
