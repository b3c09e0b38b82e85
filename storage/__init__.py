"""Storage: the models, the named queries the flows call, the media store and the migrations."""
