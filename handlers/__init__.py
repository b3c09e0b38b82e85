"""The flows: channel-neutral conversations and actions, written once for every channel."""
