"""The runtime: config, the app that wires everything, the channels and the CLI."""
