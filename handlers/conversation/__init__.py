"""The conversation machinery: the dispatcher, the registry of flows, one message being handled
(Turn), what channels hand in and get back, reading what people type."""
