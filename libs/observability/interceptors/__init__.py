"""The only modules that know gRPC call shapes: server/client x sync/aio, all four kinds."""
