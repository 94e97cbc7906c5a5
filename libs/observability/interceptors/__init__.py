"""The only modules that know gRPC call shapes: server/client × sync/aio, all four kinds."""
